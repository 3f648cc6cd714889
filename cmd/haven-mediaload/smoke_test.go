package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestMediaLoadSmoke runs the tool at CI size against a haven it starts (built from this
// tree): a publisher of multi-packet VP8 frames and Opus, a few Pion subscribers in this
// process, two steps. It checks that the run was clean — every subscriber connected, every
// packet the publisher sent received once, in order, none dropped by the server — which
// covers the fan-out's frame-at-a-time segmented sends end to end. It asserts no timings.
func TestMediaLoadSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds haven and runs a webinar with subscribers")
	}
	bin := filepath.Join(t.TempDir(), "haven")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/havenhealth/haven/cmd/haven")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build haven: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	args := []string{"-haven", bin, "-steps", "3,6", "-runs", "1", "-warmup", "1s", "-window", "2s", "-json", "-quiet", "-timeout", "2m"}
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatalf("haven-mediaload: %v\nstderr:\n%s", err, errOut.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("decode results: %v\n%s", err, out.String())
	}
	if res.ErrorCount != 0 || len(res.Runs) != 1 {
		t.Fatalf("errors %v, %d runs", res.Errors, len(res.Runs))
	}
	for _, st := range res.Runs[0].Steps {
		if st.Connected != st.Subscribers || st.Broken != 0 {
			t.Fatalf("step %d: %d connected, %d broken", st.Subscribers, st.Connected, st.Broken)
		}
		if st.Expected == 0 || st.Received != st.Expected || st.Lost != 0 || st.SeqGaps != 0 || st.Duplicates != 0 {
			t.Fatalf("step %d: expected %d, received %d, lost %d, seq gaps %d, duplicates %d",
				st.Subscribers, st.Expected, st.Received, st.Lost, st.SeqGaps, st.Duplicates)
		}
		for reason, n := range st.Drops {
			if n != 0 {
				t.Fatalf("step %d: %d packets dropped by the server (%s)", st.Subscribers, n, reason)
			}
		}
		t.Logf("step %d: %d packets received by every subscriber", st.Subscribers, st.Expected/uint64(st.Subscribers))
	}
}
