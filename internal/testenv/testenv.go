// Package testenv gives integration tests real components — PostgreSQL, Redis, Chromium —
// started on free loopback ports in temporary directories. When a component is missing the
// test is skipped with a message, except under CI=true, where a skip would hide a gap and
// the test fails instead.
package testenv

import (
	"net"
	"os"
	"strconv"
	"testing"
)

// Unavailable skips t (or fails it under CI=true) because a real component is missing.
func Unavailable(t testing.TB, what, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s unavailable under CI=true: %s", what, why)
	}
	t.Skipf("skipping: %s unavailable: %s (run ./scripts/test.sh to install and start it)", what, why)
}

// InCI reports whether the tests run under CI, where skips are failures.
func InCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
