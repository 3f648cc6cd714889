package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses; utime and stime are fields 14, 15.
	stat := "4242 (haven (x) y) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 75 0 0 20 0 12 0 1000 2000000 3000 18446744073709551615"
	got, sys, err := parseStatCPU(stat)
	if err != nil || got != 3.25 || sys != 0.75 {
		t.Fatalf("parseStatCPU = %v, %v, %v; want 3.25, 0.75", got, sys, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 12 13"} {
		if _, _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	got, err := parseProcStat("cpu  100 20 30 5000 40 6 700 8 0 0\ncpu0 50 10 15 2500 20 3 350 4 0 0\n")
	if err != nil || got != 1.64 { // user+nice+system+irq+steal = 164 ticks
		t.Fatalf("parseProcStat = %v, %v", got, err)
	}
	if _, err := parseProcStat("intr 1 2 3\n"); err == nil {
		t.Fatal("no cpu line: no error")
	}
}

func TestParseStatusRSS(t *testing.T) {
	got, err := parseStatusRSS("Name:\thaven\nVmPeak:\t 9999 kB\nVmRSS:\t  123456 kB\nThreads:\t12\n")
	if err != nil || got != 123456<<10 {
		t.Fatalf("parseStatusRSS = %v, %v", got, err)
	}
	if _, err := parseStatusRSS("Name:\thaven\n"); err == nil {
		t.Fatal("no VmRSS: no error")
	}
	if _, err := parseStatusRSS("VmRSS:\t12 MB\n"); err == nil {
		t.Fatal("VmRSS in MB: no error")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP haven_media_plis_total Keyframe requests.
# TYPE haven_media_plis_total counter
haven_media_plis_total{direction="from_subscriber"} 12
haven_media_plis_total{direction="to_publisher"} 3
haven_media_nacks_total 1.5e+03
haven_media_packet_drops_total{reason="queue_full"} 7
haven_media_packet_drops_total{reason="layer"} 2
weird_metric{label="a b, c"} 4
process_resident_memory_bytes 1.2345678e+08
broken line
haven_media_bytes_out_total NaNx
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if v := m.sum("haven_media_nacks_total"); v != 1500 {
		t.Errorf("nacks = %v", v)
	}
	if v := m.sum("haven_media_packet_drops_total"); v != 9 {
		t.Errorf("drops = %v", v)
	}
	if v := m.sum("haven_media_plis"); v != 0 {
		t.Errorf("a name prefix must not match another metric: %v", v)
	}
	p := m.byLabel("haven_media_plis_total", "direction")
	if p["from_subscriber"] != 12 || p["to_publisher"] != 3 || len(p) != 2 {
		t.Errorf("plis by direction = %v", p)
	}
	if v := m[`weird_metric{label="a b, c"}`]; v != 4 {
		t.Errorf("labels with spaces: %v (%v)", v, m)
	}
	if _, ok := m["haven_media_bytes_out_total"]; ok {
		t.Error("an unparsable value was kept")
	}
}

func TestParseSteps(t *testing.T) {
	got, err := parseSteps("25, 50,100,200,400")
	if err != nil || len(got) != 5 || got[0] != 25 || got[4] != 400 {
		t.Fatalf("parseSteps = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "50,25", "25,25", "500", "x"} {
		if _, err := parseSteps(bad); err == nil {
			t.Errorf("parseSteps(%q): no error", bad)
		}
	}
}

func TestParseOptions(t *testing.T) {
	parse := func(args ...string) error {
		_, err := parseOptions(args, io.Discard)
		return err
	}
	if err := parse("-url", "http://127.0.0.1:8080", "-pid", "1"); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := map[string][]string{
		"remote url":          {"-url", "http://10.0.0.1:8080", "-pid", "1"},
		"no pid":              {"-url", "http://127.0.0.1:8080"},
		"remote admin":        {"-pid", "1", "-admin-addr", "10.0.0.1:6060"},
		"pprof without admin": {"-pid", "1", "-pprof-dir", "/tmp/x"},
		"too many runs":       {"-pid", "1", "-runs", "9"},
		"tiny window":         {"-pid", "1", "-window", "10ms"},
		"missing binary":      {"-haven", "/nonexistent/haven"},
		"cpus without haven":  {"-pid", "1", "-server-cpus", "0"},
		"timeout":             {"-pid", "1", "-timeout", "3h"},
		"extra args":          {"-pid", "1", "extra"},
	}
	for name, args := range bad {
		if err := parse(args...); err == nil {
			t.Errorf("%s: %v accepted", name, args)
		}
	}
	o, err := parseOptions([]string{"-url", "http://localhost:9/", "-pid", "7", "-steps", "5,10", "-runs", "3"}, io.Discard)
	if err != nil || o.URL != "http://localhost:9" || o.Runs != 3 || len(o.Steps) != 2 {
		t.Fatalf("parsed %+v, %v", o, err)
	}
}

// A keyframe's first packet, built as the publisher builds it, is one the server's VP8
// parser (media.vp8KeyframeStart, restated here) takes for a keyframe start; other packets
// are not.
func TestVP8Header(t *testing.T) {
	keyStart := func(p []byte) bool {
		if len(p) == 0 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
			return false
		}
		i := 1
		if p[0]&0x80 != 0 {
			ext := p[1]
			i = 2
			if ext&0x80 != 0 {
				if p[i]&0x80 != 0 {
					i += 2
				} else {
					i++
				}
			}
			if ext&0x40 != 0 {
				i++
			}
			if ext&0x30 != 0 {
				i++
			}
		}
		return len(p) > i && p[i]&0x01 == 0
	}
	if p := vp8Header(nil, 300, true, true); !keyStart(p) || !bytes.Contains(p, []byte{0x9d, 0x01, 0x2a}) {
		t.Fatalf("keyframe start %x not recognised", p)
	}
	if p := vp8Header(nil, 300, true, false); keyStart(p) {
		t.Fatalf("delta frame %x taken for a keyframe", p)
	}
	if p := vp8Header(nil, 300, false, true); keyStart(p) || p[0]&0x10 != 0 {
		t.Fatalf("continuation packet %x has S set", p)
	}
	if p := vp8Header(nil, 0x1234, true, false); p[2] != 0x80|0x12 || p[3] != 0x34 {
		t.Fatalf("picture id: %x", p)
	}
}

func TestParseRTP(t *testing.T) {
	payload := appendTrailer(vp8Header(nil, 1, true, true), 900, 77, 123456789)
	if len(payload) != 900 {
		t.Fatalf("payload %d bytes, want 900", len(payload))
	}
	ext := rtp.Header{Version: 2, SequenceNumber: 4, CSRC: []uint32{1, 2}}
	if err := ext.SetExtension(3, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]rtp.Packet{
		"plain":              {Header: rtp.Header{Version: 2, SequenceNumber: 65535, PayloadType: 96}, Payload: payload},
		"csrc and extension": {Header: ext, Payload: payload},
		"padding":            {Header: rtp.Header{Version: 2, SequenceNumber: 9, Padding: true, PaddingSize: 7}, Payload: payload},
	}
	for name, pkt := range cases {
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		seq, num, sent, ok := parseRTP(b)
		if !ok || seq != pkt.SequenceNumber || num != 77 || sent != 123456789 {
			t.Errorf("%s: parseRTP = %d %d %d %v", name, seq, num, sent, ok)
		}
	}
	short := rtp.Packet{Header: rtp.Header{Version: 2}, Payload: []byte{1, 2, 3}}
	b, _ := short.Marshal()
	if _, _, _, ok := parseRTP(b); ok {
		t.Error("a payload shorter than the trailer parsed")
	}
	if _, _, _, ok := parseRTP([]byte{0x80, 1}); ok {
		t.Error("a truncated header parsed")
	}
}

func TestShape(t *testing.T) {
	for _, c := range []struct {
		bitrate, fps int
		key          time.Duration
	}{{1_200_000, 30, 2 * time.Second}, {500_000, 15, time.Second}, {3_000_000, 30, 3 * time.Second}} {
		sh := newShape(c.bitrate, c.fps, c.key)
		if got := sh.bitrate(); math.Abs(got-float64(c.bitrate))/float64(c.bitrate) > 0.01 {
			t.Errorf("%+v: sends %.0f bits/s", c, got)
		}
		if sh.keySize != keyFactor*sh.deltaSize || sh.keyEvery != int(c.key.Seconds()*float64(c.fps)) {
			t.Errorf("%+v: shape %+v", c, sh)
		}
	}
	sh := newShape(1_200_000, 30, 2*time.Second)
	total := 0
	for _, n := range sh.packetSizes(sh.keySize) {
		if n > sh.maxPayload {
			t.Fatalf("packet of %d bytes", n)
		}
		total += n
	}
	if total != sh.keySize {
		t.Fatalf("packets add up to %d, want %d", total, sh.keySize)
	}
}

func TestWindowAndTrackStats(t *testing.T) {
	w := &window{lo: [2]uint32{math.MaxUint32 - 1, 10}, hi: [2]uint32{3, 20}} // video wraps
	for num, want := range map[uint32]bool{math.MaxUint32 - 2: false, math.MaxUint32 - 1: true, 0: true, 2: true, 3: false} {
		if inWindow(w, trackVideo, num) != want {
			t.Errorf("video %d in window: want %v", num, want)
		}
	}
	if inWindow(w, trackAudio, 9) || !inWindow(w, trackAudio, 19) || inWindow(nil, trackAudio, 15) {
		t.Error("audio window")
	}

	var s trackStats
	now := int64(1_000_000_000)
	s.onPacket(100, 1, now, now, false) // before the window: not counted
	s.onPacket(101, 2, now-2_000_000, now, true)
	s.onPacket(102, 3, now-3_000_000, now, true)
	s.onPacket(102, 3, now-3_000_000, now, true) // a retransmission
	s.onPacket(106, 7, now-1_000_000, now, true) // 103-105 never came
	s.onPacket(105, 6, now-1_000_000, now, true) // late: fills part of the gap
	got, dups, gaps, lat := s.take(nil, 0)
	if got != 4 || dups != 1 || gaps != 3 || lat.n != 4 {
		t.Fatalf("received %d dups %d gaps %d latencies %d", got, dups, gaps, lat.n)
	}
	if p50 := lat.quantile(0.5); p50 < 0.99 || p50 > 1.1 { // 1, 1, 2, 3 ms
		t.Errorf("p50 %v ms", p50)
	}
	if s.total.Load() != 6 {
		t.Errorf("total %d", s.total.Load())
	}
	if got, dups, gaps, lat = s.take(nil, 0); got != 0 || dups != 0 || gaps != 0 || lat.n != 0 {
		t.Fatal("take did not clear the window")
	}
	s.onPacket(107, 3, now, now, true) // number 3 again, but in a new window: counts
	if got, _, gaps, _ = s.take(nil, 0); got != 1 || gaps != 0 {
		t.Fatalf("after take: received %d gaps %d", got, gaps)
	}
	// Counted while the window was open-ended, numbered past the end it closed at: out.
	s.onPacket(108, 11, now-1_000_000, now, true)
	s.onPacket(109, 12, now-5_000_000, now, true)
	s.onPacket(110, 20, now-9_000_000, now, true)
	got, _, _, lat = s.take(&window{lo: [2]uint32{0, 10}, hi: [2]uint32{0, 13}}, trackAudio)
	if got != 2 || lat.n != 2 || lat.quantile(1) > 5.5 {
		t.Fatalf("closed window: received %d, latencies %d, slowest %v ms", got, lat.n, lat.quantile(1))
	}
}

func TestHist(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(int64(i) * 1_000_000) // 1 … 1000 ms
	}
	h.add(-5)
	if q := h.quantile(0.5); q < 490 || q > 550 {
		t.Errorf("p50 = %v", q)
	}
	if q := h.quantile(0.99); q < 980 || q > 1000 {
		t.Errorf("p99 = %v (capped at the max)", q)
	}
	var o hist
	o.add(5_000_000_000)
	h.merge(&o)
	if h.n != 1002 || h.summary().Max != 5000 {
		t.Errorf("merged: n %d max %v", h.n, h.summary().Max)
	}
	if (&hist{}).quantile(0.5) != 0 {
		t.Error("empty histogram")
	}
}

func TestSpread(t *testing.T) {
	if s := spread([]float64{3, 1, 2}); s != (Spread{2, 1, 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := spread([]float64{4, 1, 2, 3}); s != (Spread{2.5, 1, 4}) {
		t.Errorf("even: %+v", s)
	}
	if s := spread(nil); s != (Spread{}) {
		t.Errorf("empty: %+v", s)
	}
	if got := fmtSpread(Spread{0.21, 0.2, 0.25}, 3, 2); got != "0.21 (0.20–0.25)" {
		t.Errorf("fmtSpread = %q", got)
	}
	if got := fmtSpread(Spread{0.21, 0.2, 0.25}, 1, 2); got != "0.21" {
		t.Errorf("fmtSpread one run = %q", got)
	}
}

func TestReport(t *testing.T) {
	o, err := parseOptions([]string{"-pid", "1", "-steps", "25,50", "-runs", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res := newResult(o)
	for k, cpu := range []float64{0.05, 0.07, 0.06} {
		res.Runs = append(res.Runs, Run{Run: k + 1, Baseline: Step{ServerCores: 0.01, RSSMiB: 30},
			Steps: []Step{
				{Subscribers: 25, ServerCores: cpu, CPUPctPerSub: cpu * 100 / 25, RSSPerSubMB: 0.3, Latency: Latency{P50: 1, P99: float64(k + 2)}},
				{Subscribers: 50, ServerCores: 2 * cpu, CPUPctPerSub: cpu * 100 / 25, Lost: uint64(k), Drops: map[string]int64{"queue_full": 2, "layer": 1}},
			}})
	}
	res.summarise()
	if len(res.Summary) != 2 || res.Summary[0].Runs != 3 {
		t.Fatalf("summary %+v", res.Summary)
	}
	s := res.Summary[0]
	if s.ServerCores != (Spread{0.06, 0.05, 0.07}) || s.P99 != (Spread{3, 2, 4}) || s.RSSPerSubMB.Median != 0.3 {
		t.Errorf("25: %+v", s)
	}
	if res.Summary[1].Lost != (Spread{1, 0, 2}) || res.Summary[1].Drops.Median != 3 {
		t.Errorf("50: %+v", res.Summary[1])
	}
	var table bytes.Buffer
	res.writeTable(&table)
	for _, want := range []string{"subs/core", "6.0 (5.0–7.0)", "baseline (publisher alone)", "no errors"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	res.addError("subscriber 3: boom")
	var js bytes.Buffer
	if err := res.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.ErrorCount != 1 || len(back.Runs) != 3 || back.Summary[1].Subscribers != 50 || back.Runs[0].Steps[1].Drops["queue_full"] != 2 {
		t.Errorf("JSON round trip: errors %d runs %d summary %+v", back.ErrorCount, len(back.Runs), back.Summary)
	}
}

func TestServerEnv(t *testing.T) {
	env := serverEnv([]string{"PATH=/bin", "HAVEN_ADDR=:1", "DATABASE_URL=postgres://x", "REDIS_URL=redis://y", "HOME=/root"},
		map[string]string{"HAVEN_RTC_LISTEN_IP": "127.0.0.1"})
	joined := strings.Join(env, " ")
	if strings.Contains(joined, "HAVEN_ADDR=:1") || strings.Contains(joined, "DATABASE_URL") || strings.Contains(joined, "REDIS_URL") {
		t.Errorf("inherited settings leak into the server: %v", env)
	}
	if !strings.Contains(joined, "PATH=/bin") || !strings.Contains(joined, "HAVEN_RTC_LISTEN_IP=127.0.0.1") {
		t.Errorf("env %v", env)
	}
}
