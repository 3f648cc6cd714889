package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server process of the test's own: loopback, a free port, a
// temporary directory, no persistence. Tests may kill and restart it to simulate outages.
type RedisServer struct {
	bin  string
	dir  string
	port int

	mu   sync.Mutex // guards cmd, exit
	cmd  *exec.Cmd  // nil while stopped
	exit chan struct{}
}

// StartRedis starts a redis-server for t and stops it (removing its directory) in
// t.Cleanup. Without redis-server on PATH, t is skipped (failed under CI=true).
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "Redis", "redis-server not on PATH")
		return nil
	}
	dir, err := os.MkdirTemp("", "haven-redis-*")
	if err != nil {
		t.Fatalf("redis: temp dir: %v", err)
	}
	s := &RedisServer{bin: bin, dir: dir, port: FreePort(t)}
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		_ = os.RemoveAll(dir)
	})
	s.Start(t)
	return s
}

// Addr is host:port.
func (s *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the redis:// URL of database 0.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill ends the server with SIGKILL, as a crash would, and waits until it has exited.
func (s *RedisServer) Kill(t testing.TB) {
	t.Helper()
	if !s.stop(syscall.SIGKILL) {
		t.Fatalf("redis: kill: server not running")
	}
}

// Start (re)starts the server on its port and waits up to 10 s until it answers PING. The
// data is gone: there is no persistence.
func (s *RedisServer) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("redis: start: already running")
	}
	logPath := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", logPath,
	)
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis: start %s: %v", s.bin, err)
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exit)
	}()
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()

	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exit:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			t.Fatalf("redis: exited at start: %s", redisLogTail(logPath))
		default:
		}
		if lastErr = redisPing(s.Addr()); lastErr == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop(syscall.SIGKILL)
	t.Fatalf("redis: no PING answer within 10s: %v; log: %s", lastErr, redisLogTail(logPath))
}

// stop signals the process and waits for it, reporting whether one was running.
func (s *RedisServer) stop(sig syscall.Signal) bool {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return false
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exit:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exit
	}
	return true
}

// redisPing speaks just enough RESP to see the server answer.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}

// redisLogTail returns the end of a log file for a failure message.
func redisLogTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
