package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMediaLoadSmoke runs cmd/haven-mediaload at CI size: it starts a real haven process
// (one UDP port on 127.0.0.1), publishes VP8 and Opus to 3 and then 6 subscribers in its
// own process, and must come back clean: everyone connected and receiving, no loss, no
// broken subscriber, no errors. It asserts no timings.
func TestMediaLoadSmoke(t *testing.T) {
	haven := buildHaven(t) // skips in -short mode
	tool := filepath.Join(filepath.Dir(haven), "haven-mediaload")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", tool, "github.com/havenhealth/haven/cmd/haven-mediaload").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/haven-mediaload: %v\n%s", err, out)
	}
	args := []string{"-haven", haven, "-steps", "3,6", "-warmup", "1s", "-window", "2s", "-concurrency", "3",
		"-timeout", "3m", "-json", "-quiet"}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if testing.Verbose() || err != nil {
		t.Logf("haven-mediaload %v\nstderr:\n%s\nstdout:\n%s", args, stderr.String(), stdout.String())
	}
	if err != nil {
		t.Fatalf("haven-mediaload: %v", err)
	}
	var res struct {
		ErrorCount int      `json:"error_count"`
		Errors     []string `json:"errors"`
		Runs       []struct {
			Steps []struct {
				Subscribers int    `json:"subscribers"`
				Connected   int    `json:"connected"`
				SetupFailed int    `json:"setup_failed"`
				Expected    uint64 `json:"expected"`
				Received    uint64 `json:"received"`
				Lost        uint64 `json:"lost"`
				Broken      int    `json:"broken_subscribers"`
				Latency     struct {
					Count uint64 `json:"count"`
				} `json:"latency"`
				ServerCores  float64 `json:"server_cpu_cores"`
				RSSBytes     int64   `json:"server_rss_bytes"`
				Participants int     `json:"participants"`
			} `json:"steps"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("decode results: %v\n%s", err, stdout.String())
	}
	if res.ErrorCount != 0 || len(res.Runs) != 1 || len(res.Runs[0].Steps) != 2 {
		t.Fatalf("errors %d %v, runs %d", res.ErrorCount, res.Errors, len(res.Runs))
	}
	for _, st := range res.Runs[0].Steps {
		if st.Connected != st.Subscribers || st.SetupFailed != 0 || st.Broken != 0 {
			t.Errorf("step %d: %d connected, %d failed, %d broken", st.Subscribers, st.Connected, st.SetupFailed, st.Broken)
		}
		// Each subscriber expects the video and audio the publisher sent in the window.
		if st.Expected == 0 || st.Received != st.Expected || st.Lost != 0 || st.Latency.Count != st.Received {
			t.Errorf("step %d: expected %d, received %d, lost %d, latencies %d", st.Subscribers, st.Expected, st.Received, st.Lost, st.Latency.Count)
		}
		if st.Participants != st.Subscribers+1 || st.RSSBytes <= 0 || st.ServerCores <= 0 {
			t.Errorf("step %d: server reports %d participants, RSS %d, CPU %v", st.Subscribers, st.Participants, st.RSSBytes, st.ServerCores)
		}
	}
}
