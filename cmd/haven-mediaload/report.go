package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"text/tabwriter"
)

// Result is everything one invocation measured.
type Result struct {
	Tool       string    `json:"tool"`
	Options    ResultOpt `json:"options"`
	NumCPU     int       `json:"num_cpu"`
	Runs       []Run     `json:"runs"`
	Summary    []Summary `json:"summary"` // per step: median over runs, with the spread
	Errors     []string  `json:"errors,omitempty"`
	ErrorCount int       `json:"error_count"`

	mu sync.Mutex
}

// ResultOpt is what the run was asked to do.
type ResultOpt struct {
	Steps         []int   `json:"steps"`
	Runs          int     `json:"runs"`
	WarmupSeconds float64 `json:"warmup_seconds"`
	WindowSeconds float64 `json:"window_seconds"`
	Bitrate       int     `json:"bitrate"`
	FPS           int     `json:"fps"`
	KeyframeEvery float64 `json:"keyframe_interval_seconds"`
	ServerCPUs    string  `json:"server_cpus,omitempty"`
	Spawned       bool    `json:"spawned_server"`
}

// Run is one pass over the steps.
type Run struct {
	Run              int      `json:"run"`
	LoadAvg          string   `json:"loadavg_at_start"`
	PublisherBitrate float64  `json:"publisher_payload_bps"`
	Baseline         Step     `json:"baseline"` // the publisher alone
	Steps            []Step   `json:"steps"`
	Errors           []string `json:"errors,omitempty"`
}

// Step is one step's measured window.
type Step struct {
	Subscribers   int     `json:"subscribers"`
	Connected     int     `json:"connected"`
	SetupFailed   int     `json:"setup_failed"`
	SetupSeconds  float64 `json:"setup_seconds"` // adding this step's subscribers (signalling)
	ReadySeconds  float64 `json:"ready_seconds"` // until all of them receive media
	WindowSeconds float64 `json:"window_seconds"`

	ServerCores       float64 `json:"server_cpu_cores"`                // server CPU over the window, in cores
	ServerSysCores    float64 `json:"server_sys_cpu_cores"`            // of which in the kernel (socket writes; on loopback also the delivery to the receiver)
	CPUPctPerSub      float64 `json:"server_cpu_pct_per_sub"`          // % of one core per subscriber
	SubsPerCore       float64 `json:"subs_per_core"`                   // subscribers one core carries at this load
	MarginalPctPerSub float64 `json:"server_cpu_marginal_pct_per_sub"` // same, less the publisher-only baseline
	ToolCores         float64 `json:"tool_cpu_cores"`                  // this tool's CPU (shares the machine)
	OtherCPUSeconds   float64 `json:"other_cpu_seconds"`               // CPU other processes took during the window (/proc/stat busy less server and tool; softirq left out)
	RSSBytes          int64   `json:"server_rss_bytes"`
	RSSMiB            float64 `json:"server_rss_mib"`
	RSSPerSubMB       float64 `json:"server_rss_per_sub_mb"`      // (RSS − baseline RSS) / subscribers, in 10^6 bytes
	GoMemBytes        int64   `json:"server_go_heap_stack_bytes"` // Go heap and stacks in use (/metrics), at the window's end
	GoMemMiB          float64 `json:"server_go_heap_stack_mib"`
	GoMemPerSubMB     float64 `json:"server_go_heap_stack_per_sub_mb"` // same, over the baseline, per subscriber
	Goroutines        int     `json:"server_goroutines"`

	PublisherPackets uint64  `json:"publisher_packets"`
	Expected         uint64  `json:"expected"` // packets every subscriber should have received
	Received         uint64  `json:"received"`
	Lost             uint64  `json:"lost"`
	LossPct          float64 `json:"loss_pct"`
	SubsWithLoss     int     `json:"subs_with_loss"`
	MaxLostPerSub    uint64  `json:"max_lost_per_sub"`
	SeqGaps          uint64  `json:"rtp_seq_gaps"`
	Duplicates       uint64  `json:"duplicates"`
	Broken           int     `json:"broken_subscribers"`
	Latency          Latency `json:"latency"` // publisher write → subscriber read

	PLIsFromSubscribers int64            `json:"plis_from_subscribers"`
	PLIsToPublisher     int64            `json:"plis_to_publisher"`
	PublisherPLIs       int64            `json:"publisher_plis_received"`
	NACKs               int64            `json:"nacks"`
	Drops               map[string]int64 `json:"drops,omitempty"`
	ServerOutMbps       float64          `json:"server_out_mbps"`
	ServerInMbps        float64          `json:"server_in_mbps"`
	Participants        int              `json:"participants"`
}

// Spread is a median over runs and the lowest and highest value.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Summary is one step over every run.
type Summary struct {
	Subscribers       int    `json:"subscribers"`
	Runs              int    `json:"runs"`
	ServerCores       Spread `json:"server_cpu_cores"`
	ServerSysCores    Spread `json:"server_sys_cpu_cores"`
	CPUPctPerSub      Spread `json:"server_cpu_pct_per_sub"`
	SubsPerCore       Spread `json:"subs_per_core"`
	MarginalPctPerSub Spread `json:"server_cpu_marginal_pct_per_sub"`
	ToolCores         Spread `json:"tool_cpu_cores"`
	RSSMiB            Spread `json:"server_rss_mib"`
	RSSPerSubMB       Spread `json:"server_rss_per_sub_mb"`
	GoMemPerSubMB     Spread `json:"server_go_heap_stack_per_sub_mb"`
	P50               Spread `json:"latency_p50_ms"`
	P99               Spread `json:"latency_p99_ms"`
	Max               Spread `json:"latency_max_ms"`
	LossPct           Spread `json:"loss_pct"`
	Lost              Spread `json:"lost"`
	SubsWithLoss      Spread `json:"subs_with_loss"`
	NACKs             Spread `json:"nacks"`
	PLIs              Spread `json:"plis_from_subscribers"`
	Drops             Spread `json:"drops"`
	ServerOutMbps     Spread `json:"server_out_mbps"`
}

func newResult(o options) *Result {
	return &Result{Tool: "haven-mediaload", NumCPU: runtime.NumCPU(), Options: ResultOpt{Steps: o.Steps, Runs: o.Runs,
		WarmupSeconds: o.Warmup.Seconds(), WindowSeconds: o.Window.Seconds(), Bitrate: o.Bitrate, FPS: o.FPS,
		KeyframeEvery: o.KeyEvery.Seconds(), ServerCPUs: o.ServerCPUs, Spawned: o.Haven != ""}}
}

// addError records an error (the first 50 verbatim; all are counted).
func (r *Result) addError(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ErrorCount++
	if len(r.Errors) < 50 {
		r.Errors = append(r.Errors, e)
	}
}

// median of xs (the mean of the middle two for an even count), with min and max.
func spread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: round3(m), Min: round3(s[0]), Max: round3(s[len(s)-1])}
}

// summarise computes the per-step medians over the runs.
func (r *Result) summarise() {
	r.Summary = nil
	for _, n := range r.Options.Steps {
		var steps []Step
		for _, run := range r.Runs {
			for _, st := range run.Steps {
				if st.Subscribers == n {
					steps = append(steps, st)
				}
			}
		}
		if len(steps) == 0 {
			continue
		}
		col := func(f func(Step) float64) Spread {
			xs := make([]float64, len(steps))
			for i, st := range steps {
				xs[i] = f(st)
			}
			return spread(xs)
		}
		r.Summary = append(r.Summary, Summary{Subscribers: n, Runs: len(steps),
			ServerCores:       col(func(s Step) float64 { return s.ServerCores }),
			ServerSysCores:    col(func(s Step) float64 { return s.ServerSysCores }),
			CPUPctPerSub:      col(func(s Step) float64 { return s.CPUPctPerSub }),
			SubsPerCore:       col(func(s Step) float64 { return s.SubsPerCore }),
			MarginalPctPerSub: col(func(s Step) float64 { return s.MarginalPctPerSub }),
			ToolCores:         col(func(s Step) float64 { return s.ToolCores }),
			RSSMiB:            col(func(s Step) float64 { return s.RSSMiB }),
			RSSPerSubMB:       col(func(s Step) float64 { return s.RSSPerSubMB }),
			GoMemPerSubMB:     col(func(s Step) float64 { return s.GoMemPerSubMB }),
			P50:               col(func(s Step) float64 { return s.Latency.P50 }),
			P99:               col(func(s Step) float64 { return s.Latency.P99 }),
			Max:               col(func(s Step) float64 { return s.Latency.Max }),
			LossPct:           col(func(s Step) float64 { return s.LossPct }),
			Lost:              col(func(s Step) float64 { return float64(s.Lost) }),
			SubsWithLoss:      col(func(s Step) float64 { return float64(s.SubsWithLoss) }),
			NACKs:             col(func(s Step) float64 { return float64(s.NACKs) }),
			PLIs:              col(func(s Step) float64 { return float64(s.PLIsFromSubscribers) }),
			Drops:             col(func(s Step) float64 { return float64(sumDrops(s.Drops)) }),
			ServerOutMbps:     col(func(s Step) float64 { return s.ServerOutMbps }),
		})
	}
}

func sumDrops(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

func (r *Result) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// fmtSpread prints a median, and the range over runs when there was more than one.
func fmtSpread(s Spread, runs int, prec int) string {
	f := func(x float64) string { return trimFloat(x, prec) }
	if runs <= 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

func trimFloat(x float64, prec int) string {
	return fmt.Sprintf("%.*f", prec, x)
}

// writeTable prints the per-step medians (with the spread over runs in brackets), then
// the baseline and the errors.
func (r *Result) writeTable(w io.Writer) {
	runs := len(r.Runs)
	fmt.Fprintf(w, "haven-mediaload: %d run(s), steps %v, window %gs after %gs warm-up, publisher %.2f Mb/s (VP8 %d fps + Opus), %d CPUs\n",
		runs, r.Options.Steps, r.Options.WindowSeconds, r.Options.WarmupSeconds, r.publisherMbps(), r.Options.FPS, r.NumCPU)
	if runs > 1 {
		fmt.Fprintln(w, "figures are medians over the runs, (min–max) when they differ")
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subs\tserver CPU %\tof which sys\t% core/sub\tsubs/core\tRSS MiB\tMB/sub\theap MB/sub\tp50 ms\tp99 ms\tmax ms\tloss %\tsubs w/ loss\tNACKs\tPLIs\tdrops\tout Mb/s\ttool CPU %\t")
	for _, s := range r.Summary {
		pct := func(sp Spread) Spread { return Spread{sp.Median * 100, sp.Min * 100, sp.Max * 100} }
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Subscribers,
			fmtSpread(pct(s.ServerCores), runs, 1), fmtSpread(pct(s.ServerSysCores), runs, 1), fmtSpread(s.CPUPctPerSub, runs, 3), fmtSpread(s.SubsPerCore, runs, 0),
			fmtSpread(s.RSSMiB, runs, 1), fmtSpread(s.RSSPerSubMB, runs, 3), fmtSpread(s.GoMemPerSubMB, runs, 3),
			fmtSpread(s.P50, runs, 2), fmtSpread(s.P99, runs, 2), fmtSpread(s.Max, runs, 1),
			fmtSpread(s.LossPct, runs, 3), fmtSpread(s.SubsWithLoss, runs, 0),
			fmtSpread(s.NACKs, runs, 0), fmtSpread(s.PLIs, runs, 0), fmtSpread(s.Drops, runs, 0),
			fmtSpread(s.ServerOutMbps, runs, 1), fmtSpread(pct(s.ToolCores), runs, 1))
	}
	_ = tw.Flush()
	var base []float64
	var baseRSS []float64
	for _, run := range r.Runs {
		base = append(base, run.Baseline.ServerCores*100)
		baseRSS = append(baseRSS, run.Baseline.RSSMiB)
	}
	fmt.Fprintf(w, "baseline (publisher alone): server CPU %s %%, RSS %s MiB\n",
		fmtSpread(spread(base), runs, 1), fmtSpread(spread(baseRSS), runs, 1))
	other := 0.0
	for _, run := range r.Runs {
		for _, st := range run.Steps {
			other = max(other, st.OtherCPUSeconds)
		}
	}
	fmt.Fprintf(w, "other processes took at most %.2f CPU-seconds in any window\n", other)
	if r.ErrorCount > 0 {
		fmt.Fprintf(w, "%d errors:\n", r.ErrorCount)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	} else {
		fmt.Fprintln(w, "no errors")
	}
}

func (r *Result) publisherMbps() float64 {
	if len(r.Runs) == 0 {
		return 0
	}
	return r.Runs[0].PublisherBitrate / 1e6
}

// raiseFileLimit lifts the soft open-file limit to the hard one: every subscriber holds a
// WebSocket and a UDP socket.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
