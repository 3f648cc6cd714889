package testenv

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartRedisCluster starts a three-master Redis Cluster (no replicas) of the test's own:
// three redis-server processes on free loopback ports, each in its own temporary
// directory, without persistence. It waits up to 20 s for cluster_state:ok, stops the
// servers (removing their directories) in t.Cleanup, and returns the
// redis+cluster://host1:port1,host2:port2,host3:port3 URL. Without redis-server or
// redis-cli on PATH, t is skipped (failed under CI=true).
func StartRedisCluster(t testing.TB) string {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "Redis Cluster", "redis-server not on PATH")
		return ""
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		Unavailable(t, "Redis Cluster", "redis-cli not on PATH")
		return ""
	}

	const nodes = 3
	addrs := make([]string, 0, nodes)
	logs := make([]string, 0, nodes)
	for range nodes {
		dir, err := os.MkdirTemp("", "haven-redis-cluster-*")
		if err != nil {
			t.Fatalf("redis cluster: temp dir: %v", err)
		}
		port := FreePort(t)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logPath := filepath.Join(dir, "redis.log")
		cmd := exec.Command(server,
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--dir", dir,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--save", "",
			"--appendonly", "no",
			"--daemonize", "no",
			"--logfile", logPath,
		)
		if err := cmd.Start(); err != nil {
			_ = os.RemoveAll(dir)
			t.Fatalf("redis cluster: start %s: %v", server, err)
		}
		exit := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exit)
		}()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			select {
			case <-exit:
			case <-time.After(5 * time.Second):
			}
			_ = os.RemoveAll(dir)
		})
		if err := waitRedisPing(addr, exit, 10*time.Second); err != nil {
			t.Fatalf("redis cluster: node %s: %v; log: %s", addr, err, redisLogTail(logPath))
		}
		addrs = append(addrs, addr)
		logs = append(logs, logPath)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis cluster: redis-cli --cluster create: %v\n%s", err, out)
	}

	// Every node must see the whole slot map, or a client may be routed to one that
	// still answers CLUSTERDOWN.
	for i, addr := range addrs {
		_, port, _ := net.SplitHostPort(addr)
		var last string
		for {
			out, _ := exec.CommandContext(ctx, cli, "-h", "127.0.0.1", "-p", port, "cluster", "info").CombinedOutput()
			last = string(out)
			if strings.Contains(last, "cluster_state:ok") {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("redis cluster: %s not cluster_state:ok within 20s: %s; log: %s", addr, strings.TrimSpace(last), redisLogTail(logs[i]))
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// waitRedisPing polls addr until it answers PING, the process exits, or d passes.
func waitRedisPing(addr string, exit <-chan struct{}, d time.Duration) error {
	deadline := time.Now().Add(d)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exit:
			return errExited
		default:
		}
		if lastErr = redisPing(addr); lastErr == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return lastErr
}

var errExited = errors.New("exited at start")
