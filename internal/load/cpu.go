package load

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is CPU time spent during a scenario's measured phase: the load tool's own, and the
// server's with -pid (both share the machine on loopback runs).
type CPU struct {
	WallSeconds   float64 `json:"wall_seconds"`
	ClientSeconds float64 `json:"client_cpu_seconds"`
	ServerSeconds float64 `json:"server_cpu_seconds,omitempty"`
}

type cpuMark struct {
	at             time.Time
	client, server float64
}

// serverCPU reads utime+stime from /proc/PID/stat in seconds (USER_HZ is 100 on Linux).
func (r *runner) serverCPU() float64 {
	if r.o.PID <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.o.PID))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

func (r *runner) markCPU() cpuMark {
	return cpuMark{at: time.Now(), client: processCPU(), server: r.serverCPU()}
}

func (r *runner) cpuSince(m cpuMark) *CPU {
	return &CPU{WallSeconds: round2(time.Since(m.at).Seconds()), ClientSeconds: round2(processCPU() - m.client),
		ServerSeconds: round2(r.serverCPU() - m.server)}
}
