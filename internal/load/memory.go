package load

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// serverRSS returns the server's resident memory in bytes: from /proc/PID/status with -pid,
// else from /metrics process_resident_memory_bytes.
func (r *runner) serverRSS(ctx context.Context) (int64, string, error) {
	if r.o.PID > 0 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.o.PID))
		if err != nil {
			return 0, "", fmt.Errorf("read server RSS: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				f := strings.Fields(rest) // "123456 kB"
				if len(f) == 2 && f[1] == "kB" {
					kb, err := strconv.ParseInt(f[0], 10, 64)
					if err == nil {
						return kb << 10, fmt.Sprintf("/proc/%d/status VmRSS", r.o.PID), nil
					}
				}
			}
		}
		return 0, "", fmt.Errorf("read server RSS: no VmRSS in /proc/%d/status", r.o.PID)
	}
	v, err := r.metric(ctx, "process_resident_memory_bytes")
	if err != nil {
		return 0, "", fmt.Errorf("read server RSS: %w", err)
	}
	return int64(v), "/metrics process_resident_memory_bytes", nil
}

// metric reads one unlabelled sample from the server's /metrics.
func (r *runner) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.o.URL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return 0, fmt.Errorf("metric %s: %w", name, err)
			}
			return v, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	return 0, fmt.Errorf("metric %s not found in /metrics", name)
}
