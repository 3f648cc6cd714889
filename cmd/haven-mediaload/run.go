package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/havenhealth/haven/internal/progress"
)

// runner is one invocation: sign-ups shared by every run, results accumulated.
type runner struct {
	o      options
	id     string
	hc     *http.Client
	ps     *peers
	stderr io.Writer
	tokens []string
	admin  string // the host's token
	res    *Result

	phase progress.Line
}

// run parses args, runs every run's steps and prints the results. It returns an error when
// the runs could not be made, or after printing when they saw errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	raiseFileLimit()
	ps, err := newPeers(o.Verbose)
	if err != nil {
		return err
	}
	r := &runner{o: o, id: runID(), hc: &http.Client{Timeout: 60 * time.Second}, ps: ps, stderr: stderr,
		res: newResult(o)}
	stop := r.phase.Start(r.stderr, r.o.Quiet)
	err = r.runAll(ctx)
	stop()
	if err != nil {
		return err
	}
	r.res.summarise()
	if o.JSON {
		if err := r.res.writeJSON(stdout); err != nil {
			return err
		}
	} else {
		r.res.writeTable(stdout)
	}
	if r.res.ErrorCount > 0 {
		return fmt.Errorf("%d errors (see the results)", r.res.ErrorCount)
	}
	return nil
}

func (r *runner) runAll(ctx context.Context) error {
	dataDir := ""
	if r.o.Haven != "" {
		if r.o.DataDir != "" {
			dataDir = r.o.DataDir
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return err
			}
		} else {
			tmp, err := os.MkdirTemp("", "haven-mediaload-*")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dataDir = filepath.Join(tmp, "data")
		}
	}
	if r.o.PprofDir != "" {
		if err := os.MkdirAll(r.o.PprofDir, 0o755); err != nil {
			return err
		}
	}
	if err := r.prepare(ctx, dataDir); err != nil {
		return err
	}
	for k := 1; k <= r.o.Runs; k++ {
		rr, err := r.runOnce(ctx, k, dataDir)
		if rr != nil {
			r.res.Runs = append(r.res.Runs, *rr)
		}
		if err != nil {
			return fmt.Errorf("run %d: %w", k, err)
		}
	}
	return nil
}

// runOnce is one run: a server (started fresh with -haven), the publisher, a baseline
// window with no subscribers, then each step.
func (r *runner) runOnce(ctx context.Context, k int, dataDir string) (*Run, error) {
	srv := &server{url: r.o.URL, pid: r.o.PID, adminAddr: r.o.AdminAddr}
	if r.o.Haven != "" {
		r.phase.Set(func() string { return fmt.Sprintf("run %d/%d: starting haven", k, r.o.Runs) })
		var err error
		if srv, err = spawn(ctx, &r.o, dataDir, k); err != nil {
			return nil, err
		}
		defer srv.stop()
	}
	rr := &Run{Run: k, LoadAvg: loadAvg()}
	admin := r.admin

	r.phase.Set(func() string { return fmt.Sprintf("run %d/%d: publishing", k, r.o.Runs) })
	sh := newShape(r.o.Bitrate, r.o.FPS, r.o.KeyEvery)
	pub, err := startPublisher(ctx, r.ps, srv.url, admin, r.o.Room, sh)
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	rr.PublisherBitrate = round2(sh.bitrate())
	var win atomic.Pointer[window]
	var subs []*subscriber
	defer func() {
		r.phase.Set(func() string { return fmt.Sprintf("run %d/%d: closing %d subscribers", k, r.o.Runs, len(subs)) })
		closeAll(subs)
		pub.shutdown()
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := dialSig(cctx, srv.url, admin, nil); err == nil {
			_ = c.joinRoom(cctx, r.o.Room)
			_, _ = c.do(cctx, "media.end", map[string]any{"room": r.o.Room})
			c.close()
		}
	}()

	// Baseline: the publisher alone, so RSS and CPU per subscriber are what subscribers add.
	if err := progress.Sleep(ctx, r.o.Warmup+time.Second); err != nil {
		return rr, err
	}
	base, err := r.measure(ctx, k, srv, pub, nil, &win, 0, 0)
	if err != nil {
		return rr, err
	}
	rr.Baseline = *base
	for _, n := range r.o.Steps {
		start := time.Now()
		added, failed := r.addSubscribers(ctx, k, srv.url, n, &subs, &win)
		setup := time.Since(start)
		if ctx.Err() != nil {
			return rr, ctx.Err()
		}
		if err := r.waitReady(ctx, k, n, subs, added); err != nil {
			rr.Errors = append(rr.Errors, err.Error())
		}
		setupReady := time.Since(start)
		if !srv.alive() {
			return rr, errors.New("the server process is gone")
		}
		r.phase.Set(func() string { return fmt.Sprintf("run %d/%d step %d: warming up", k, r.o.Runs, n) })
		if err := progress.Sleep(ctx, r.o.Warmup); err != nil {
			return rr, err
		}
		st, err := r.measure(ctx, k, srv, pub, subs, &win, n, base.ServerCores)
		if err != nil {
			return rr, err
		}
		st.SetupFailed = failed
		st.SetupSeconds = round2(setup.Seconds())
		st.ReadySeconds = round2(setupReady.Seconds())
		if base.RSSBytes > 0 && n > 0 {
			st.RSSPerSubMB = round3(float64(st.RSSBytes-base.RSSBytes) / float64(n) / 1e6)
			st.GoMemPerSubMB = round3(float64(st.GoMemBytes-base.GoMemBytes) / float64(n) / 1e6)
		}
		rr.Steps = append(rr.Steps, *st)
	}
	return rr, nil
}

// prepare logs the admin in, creates the room and signs the viewers up. With -haven it
// does so on a server of its own, stopped before the measured runs: password hashing
// (argon2id, 19 MiB a hash) would otherwise leave the baseline RSS inflated. Tokens and the
// room live in the data directory, which every run's server shares.
func (r *runner) prepare(ctx context.Context, dataDir string) error {
	srv := &server{url: r.o.URL, pid: r.o.PID}
	if r.o.Haven != "" {
		r.phase.Set(func() string { return "starting haven to sign viewers up" })
		var err error
		if srv, err = spawn(ctx, &r.o, dataDir, 0); err != nil {
			return err
		}
		defer srv.stop()
	}
	var err error
	if r.admin, err = login(ctx, r.hc, srv.url, r.o.AdminEmail, r.o.AdminPass); err != nil {
		return err
	}
	if err := ensureRoom(ctx, r.hc, srv.url, r.admin, r.o.Room); err != nil {
		return fmt.Errorf("create webinar room: %w", err)
	}
	return r.signups(ctx, srv.url, r.o.Steps[len(r.o.Steps)-1])
}

// signups makes sure there are n member tokens (made once per invocation).
func (r *runner) signups(ctx context.Context, base string, n int) error {
	if len(r.tokens) >= n {
		return nil
	}
	need := n - len(r.tokens)
	fresh := make([]string, need)
	var done atomic.Int64
	r.phase.Set(func() string { return fmt.Sprintf("signing up %d/%d viewers", done.Load(), need) })
	errc := make(chan error, need)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range fresh {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t, err := signup(ctx, r.hc, base, r.id, len(r.tokens)+i)
			if err != nil {
				errc <- err
				return
			}
			fresh[i] = t
			done.Add(1)
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	r.tokens = append(r.tokens, fresh...)
	return nil
}

// addSubscribers brings the run's subscribers up to n, Conc at a time.
func (r *runner) addSubscribers(ctx context.Context, k int, base string, n int, subs *[]*subscriber, win *atomic.Pointer[window]) (added []*subscriber, failed int) {
	from := len(*subs)
	var ok, bad atomic.Int64
	r.phase.Set(func() string {
		return fmt.Sprintf("run %d/%d step %d: connecting %d/%d subscribers (%d failed)", k, r.o.Runs, n, ok.Load(), n-from, bad.Load())
	})
	out := make([]*subscriber, n-from)
	errs := make([]error, n-from)
	sem := make(chan struct{}, r.o.Conc)
	var wg sync.WaitGroup
	for i := from; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			s, err := startSubscriber(cctx, r.ps, base, r.tokens[i], r.o.Room, i, win)
			if err != nil {
				errs[i-from] = err
				bad.Add(1)
				return
			}
			out[i-from] = s
			ok.Add(1)
		}()
	}
	wg.Wait()
	for i, s := range out {
		if s != nil {
			*subs = append(*subs, s)
			added = append(added, s)
		} else {
			failed++
			r.res.addError(fmt.Sprintf("subscriber %d: %v", from+i, errs[i]))
		}
	}
	return added, failed
}

// waitReady waits until every subscriber added is receiving video and audio.
func (r *runner) waitReady(ctx context.Context, k, n int, all, added []*subscriber) error {
	deadline := time.Now().Add(30 * time.Second)
	var ready atomic.Int64
	r.phase.Set(func() string {
		var v, a int
		for _, s := range added {
			if s.tracks[trackVideo].total.Load() > 0 {
				v++
			}
			if s.tracks[trackAudio].total.Load() > 0 {
				a++
			}
		}
		return fmt.Sprintf("run %d/%d step %d: %d/%d new subscribers receiving (video %d, audio %d)", k, r.o.Runs, n, ready.Load(), len(added), v, a)
	})
	for _, s := range added {
		select {
		case <-s.ready:
			ready.Add(1)
		case <-time.After(time.Until(deadline)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	missing := 0
	for _, s := range added {
		select {
		case <-s.ready:
		default:
			missing++
		}
	}
	if missing > 0 {
		err := fmt.Errorf("step %d: %d subscribers not receiving within 30s", n, missing)
		r.res.addError(err.Error())
		return err
	}
	return nil
}

// measure opens a window, waits, closes it, lets packets in flight arrive and collects
// what the server spent and what every subscriber received.
func (r *runner) measure(ctx context.Context, k int, srv *server, pub *publisher, subs []*subscriber,
	win *atomic.Pointer[window], n int, baseCores float64) (*Step, error) {
	m0, err := scrape(ctx, r.hc, srv.url)
	if err != nil {
		return nil, err
	}
	for _, s := range subs { // anything before the window does not count
		for _, t := range s.tracks {
			t.take(nil, 0)
		}
	}
	var profErr chan error
	if r.o.PprofDir != "" {
		profErr = make(chan error, 1)
		path := filepath.Join(r.o.PprofDir, fmt.Sprintf("cpu-run%d-%03d.pprof", k, n))
		go func() { profErr <- srv.profile(ctx, "profile", int(r.o.Window.Seconds()), path) }()
	}
	lo := [2]uint32{pub.next[0].Load(), pub.next[1].Load()}
	w := &window{lo: lo, hi: [2]uint32{lo[0] + 1<<31, lo[1] + 1<<31}}
	win.Store(w)
	t0 := time.Now()
	cpu0, sys0, err := procCPU(srv.pid)
	if err != nil {
		return nil, err
	}
	self0, busy0 := selfCPU(), machineBusy()
	pli0 := pub.plis.Load()
	end := t0.Add(r.o.Window)
	for time.Now().Before(end) {
		r.phase.Set(func() string {
			var pk uint64
			for _, s := range subs {
				pk += s.tracks[0].total.Load() + s.tracks[1].total.Load()
			}
			return fmt.Sprintf("run %d/%d step %d: measuring %.0f/%.0fs, %d subscribers, %d packets received so far",
				k, r.o.Runs, n, time.Since(t0).Seconds(), r.o.Window.Seconds(), len(subs), pk)
		})
		if err := progress.Sleep(ctx, min(time.Second, time.Until(end))); err != nil {
			return nil, err
		}
	}
	hi := [2]uint32{pub.next[0].Load(), pub.next[1].Load()}
	closed := &window{lo: lo, hi: hi}
	win.Store(closed) // at once: packets numbered from hi on are on their way already
	cpu1, sys1, err := procCPU(srv.pid)
	if err != nil {
		return nil, err
	}
	wall := time.Since(t0).Seconds()
	self1, busy1 := selfCPU(), machineBusy()
	rss, err := procRSS(srv.pid)
	if err != nil {
		return nil, err
	}
	if err := progress.Sleep(ctx, r.o.Settle); err != nil {
		return nil, err
	}
	win.Store(nil)
	m1, err := scrape(ctx, r.hc, srv.url)
	if err != nil {
		return nil, err
	}

	st := &Step{Subscribers: n, Connected: len(subs), WindowSeconds: round2(wall), RSSBytes: rss,
		RSSMiB: round2(float64(rss) / (1 << 20)), ToolCores: round3((self1 - self0) / wall),
		PublisherPLIs: pub.plis.Load() - pli0}
	st.ServerCores = round3((cpu1 - cpu0) / wall)
	st.ServerSysCores = round3((sys1 - sys0) / wall)
	st.OtherCPUSeconds = round2((busy1 - busy0) - (cpu1 - cpu0) - (self1 - self0))
	if n > 0 {
		cores := (cpu1 - cpu0) / wall
		st.CPUPctPerSub = round3(cores * 100 / float64(n))
		if cores > 0 {
			st.SubsPerCore = round2(float64(n) / cores)
		}
		st.MarginalPctPerSub = round3((cores - baseCores) * 100 / float64(n))
	}
	expected := [2]uint64{uint64(hi[0] - lo[0]), uint64(hi[1] - lo[1])}
	st.PublisherPackets = expected[0] + expected[1]
	var lat hist
	for _, s := range subs {
		var lost uint64
		for t, ts := range s.tracks {
			got, dups, gaps, l := ts.take(closed, t)
			st.Received += got
			st.Duplicates += dups
			st.SeqGaps += gaps
			st.Expected += expected[t]
			if got < expected[t] {
				lost += expected[t] - got
			}
			lat.merge(&l)
		}
		st.Lost += lost
		if lost > 0 {
			st.SubsWithLoss++
			st.MaxLostPerSub = max(st.MaxLostPerSub, lost)
		}
		if why := s.brokenWhy(); why != "" {
			st.Broken++
			r.res.addError(fmt.Sprintf("run %d step %d: subscriber %d: %s", k, n, s.idx, why))
		}
	}
	if st.Expected > 0 {
		st.LossPct = round3(float64(st.Lost) * 100 / float64(st.Expected))
	}
	st.Latency = lat.summary()
	d := func(name string) float64 { return m1.sum(name) - m0.sum(name) }
	plis0, plis1 := m0.byLabel("haven_media_plis_total", "direction"), m1.byLabel("haven_media_plis_total", "direction")
	st.PLIsFromSubscribers = int64(plis1["from_subscriber"] - plis0["from_subscriber"])
	st.PLIsToPublisher = int64(plis1["to_publisher"] - plis0["to_publisher"])
	st.NACKs = int64(d("haven_media_nacks_total"))
	drops0, drops1 := m0.byLabel("haven_media_packet_drops_total", "reason"), m1.byLabel("haven_media_packet_drops_total", "reason")
	st.Drops = map[string]int64{}
	for reason, v := range drops1 {
		if dv := int64(v - drops0[reason]); dv > 0 {
			st.Drops[reason] = dv
		}
	}
	wallM := wall + r.o.Settle.Seconds()
	st.ServerOutMbps = round2(d("haven_media_bytes_out_total") * 8 / wallM / 1e6)
	st.ServerInMbps = round3(d("haven_media_bytes_in_total") * 8 / wallM / 1e6)
	st.Participants = int(m1.sum("haven_media_participants"))
	st.Goroutines = int(m1.sum("go_goroutines"))
	st.GoMemBytes = int64(m1.sum("go_memstats_heap_inuse_bytes") + m1.sum("go_memstats_stack_inuse_bytes"))
	st.GoMemMiB = round2(float64(st.GoMemBytes) / (1 << 20))
	if profErr != nil {
		if err := <-profErr; err != nil {
			r.res.addError(err.Error())
		}
		path := filepath.Join(r.o.PprofDir, fmt.Sprintf("heap-run%d-%03d.pprof", k, n))
		if err := srv.profile(ctx, "heap", 0, path); err != nil {
			r.res.addError(err.Error())
		}
	}
	return st, nil
}

func closeAll(subs []*subscriber) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for _, s := range subs {
		sem <- struct{}{}
		wg.Add(1)
		go func() { defer func() { <-sem; wg.Done() }(); s.close() }()
	}
	wg.Wait()
}

func runID() string {
	const digits = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	for i := range b {
		b[i] = digits[randUint32()%uint32(len(digits))]
	}
	return string(b)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	s := string(b)
	if len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
