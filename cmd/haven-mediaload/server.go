package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procCPU is a process's user+system CPU time in seconds, from /proc/PID/stat (fields 14
// and 15, in clock ticks of USER_HZ = 100 on Linux).
func procCPU(pid int) (total, sys float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read server CPU: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime+stime and stime alone, in seconds.
func parseStatCPU(stat string) (total, sys float64, err error) {
	// The command name (field 2) is in parentheses and may hold spaces or parentheses.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, errors.New("/proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0, 0, errors.New("/proc stat: too few fields")
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc stat: utime %q stime %q", f[11], f[12])
	}
	return float64(u+s) / 100, float64(s) / 100, nil
}

// procRSS is a process's resident memory in bytes, from /proc/PID/status (VmRSS).
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read server RSS: %w", err)
	}
	return parseStatusRSS(string(b))
}

func parseStatusRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
			return 0, fmt.Errorf("/proc status: bad VmRSS line %q", line)
		}
	}
	return 0, errors.New("/proc status: no VmRSS")
}

// machineBusy is the CPU time the whole machine spent busy, in seconds, from /proc/stat:
// user, nice, system, irq and steal. Softirq is left out: loopback traffic of the run
// itself is processed there, outside the processes it belongs to.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	v, err := parseProcStat(string(b))
	if err != nil {
		return 0
	}
	return v
}

func parseProcStat(stat string) (float64, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("/proc/stat: no cpu line")
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 8} { // user nice system (idle iowait) irq (softirq) steal
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: field %d: %w", i, err)
		}
		busy += n
	}
	return float64(busy) / 100, nil
}

// selfCPU is this process's CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// metrics is one scrape of the server's /metrics: every sample by its name and labels as
// printed ("name" or `name{k="v",...}`).
type metrics map[string]float64

// parseMetrics reads the Prometheus text format; comments and malformed lines are skipped.
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the series; labels may contain spaces inside quotes.
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			end = strings.IndexByte(line, ' ')
			if end < 0 {
				continue
			}
		} else {
			end++
		}
		series := line[:end]
		rest := strings.Fields(line[end:])
		if len(rest) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(rest[0], 64)
		if err != nil {
			continue
		}
		m[series] = v
	}
	return m, sc.Err()
}

// sum adds every sample of name, whatever its labels.
func (m metrics) sum(name string) float64 {
	t := 0.0
	for k, v := range m {
		if k == name || (strings.HasPrefix(k, name+"{")) {
			t += v
		}
	}
	return t
}

// byLabel returns the samples of name by the value of one label.
func (m metrics) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	prefix := name + "{"
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			if lk, lv, ok := strings.Cut(kv, "="); ok && lk == label {
				out[strings.Trim(lv, `"`)] += v
			}
		}
	}
	return out
}

func scrape(ctx context.Context, hc *http.Client, base string) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// server is the haven process under test: one the tool started (-haven), or one given by
// -url and -pid.
type server struct {
	url       string
	pid       int
	adminAddr string // pprof listener, "" without
	cmd       *exec.Cmd
	exited    chan struct{}
	logPath   string
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

// serverEnv is the spawned server's environment: the tool's, without any Haven or
// cluster settings, plus ours (embedded store, in-memory broker, media on one loopback
// UDP port).
func serverEnv(base []string, set map[string]string) []string {
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HAVEN_") || k == "DATABASE_URL" || k == "REDIS_URL" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// spawn starts the haven binary on free loopback ports with its data in dataDir, and
// waits until it is ready.
func spawn(ctx context.Context, o *options, dataDir string, run int) (*server, error) {
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	udpPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	set := map[string]string{
		"HAVEN_ADDR":           fmt.Sprintf("127.0.0.1:%d", httpPort),
		"HAVEN_DATA_DIR":       dataDir,
		"HAVEN_ADMIN_EMAIL":    o.AdminEmail,
		"HAVEN_ADMIN_PASSWORD": o.AdminPass,
		"HAVEN_LOG_LEVEL":      "warn",
		"HAVEN_NODE_ID":        "mediaload",
		"HAVEN_SEED_DEMO":      "false",
		"HAVEN_RTC_LISTEN_IP":  "127.0.0.1",
		"HAVEN_RTC_UDP_PORT":   strconv.Itoa(udpPort),
		"HAVEN_RTC_TCP_PORT":   "0",
	}
	if o.AdminAddr != "" {
		set["HAVEN_ADMIN_ADDR"] = o.AdminAddr
	}
	name, args := o.Haven, []string(nil)
	if o.ServerCPUs != "" {
		name, args = "taskset", []string{"-c", o.ServerCPUs, o.Haven}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dataDir, fmt.Sprintf("haven-run%d.log", run))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = serverEnv(os.Environ(), set)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should this tool die without stopping it (a signal, a closed stderr pipe), the
	// server goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &server{url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), pid: cmd.Process.Pid, adminAddr: o.AdminAddr,
		cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w (server log %s: %s)", err, logPath, tail(logPath, 600))
	}
	return s, nil
}

func (s *server) waitReady(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("haven exited at start")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := hc.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("haven not ready within %s", d)
}

// stop ends a server the tool started: SIGTERM, then SIGKILL after 15 s.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// alive reports whether the server process still runs.
func (s *server) alive() bool {
	if s.exited != nil {
		select {
		case <-s.exited:
			return false
		default:
			return true
		}
	}
	return syscall.Kill(s.pid, 0) == nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// profile fetches a CPU profile of seconds from the server's pprof listener into path.
func (s *server) profile(ctx context.Context, kind string, seconds int, path string) error {
	u := fmt.Sprintf("http://%s/debug/pprof/%s", s.adminAddr, kind)
	if kind == "profile" {
		u += "?seconds=" + strconv.Itoa(seconds)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pprof %s: %w", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof %s: status %d", kind, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
