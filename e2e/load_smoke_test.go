package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/internal/load"
)

// TestLoadSmoke runs haven-load's scenarios at CI size against one in-process node and
// checks that they ran clean: everyone connected, no errors, no disconnects, and every
// member received every acknowledged message of its room. It asserts no timings.
func TestLoadSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("load smoke test opens hundreds of connections")
	}
	c := startCluster(t, sqliteSetup())
	url := c.Nodes[0].URL
	tokens := t.TempDir() + "/tokens"

	run := func(t *testing.T, args ...string) load.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var out, errOut bytes.Buffer
		// At most 20 dials and joins at once: the race detector slows the SQLite store
		// enough that hundreds of simultaneous joins hit its 5 s per-call timeout.
		args = append([]string{"-url", url, "-json", "-quiet", "-concurrency", "20", "-tokens", tokens, "-save-tokens", tokens}, args...)
		err := load.Run(ctx, args, &out, &errOut)
		if testing.Verbose() {
			t.Logf("haven-load %s\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), errOut.String(), out.String())
		}
		if err != nil {
			t.Fatalf("haven-load %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		var res load.Result
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("decode results: %v\n%s", err, out.String())
		}
		if res.ErrorCount != 0 || res.Disconnects != 0 {
			t.Fatalf("errors %v, disconnects %d", res.Errors, res.Disconnects)
		}
		return res
	}
	clean := func(t *testing.T, res load.Result, members int) {
		t.Helper()
		if res.Setup.Connected != members {
			t.Fatalf("%d of %d members connected", res.Setup.Connected, members)
		}
		d := res.Delivery
		if d == nil {
			t.Fatal("no delivery results")
		}
		var acked int64
		for _, s := range res.Steps {
			acked += s.Acked
			if s.Acked != s.Sent || len(s.Rejected) > 0 {
				t.Fatalf("step %+v: not every send was acknowledged", s)
			}
		}
		if acked == 0 {
			t.Fatal("nothing was sent")
		}
		if d.Lost != 0 || d.Undelivered != 0 || d.Duplicates != 0 || d.Received != d.Expected {
			t.Fatalf("deliveries: %+v", *d)
		}
	}

	t.Run("broadcast", func(t *testing.T) {
		// Signs up the 200 members the later scenarios reuse through the token file.
		res := run(t, "-scenario", "broadcast", "-n", "200", "-rate", "20,40", "-duration", "2s")
		clean(t, res, 200)
		if res.Senders < 2 {
			t.Fatalf("senders = %d; 40 messages/s needs several members under the per-member limit", res.Senders)
		}
	})
	t.Run("broadcast, one goroutine per connection", func(t *testing.T) {
		// The other scenarios read through the epoll reader (Linux's default); this keeps
		// the coder/websocket reader, the default elsewhere, in the suite.
		res := run(t, "-scenario", "broadcast", "-reader", "std", "-n", "200", "-rate", "20", "-duration", "2s")
		clean(t, res, 200)
	})
	t.Run("rooms", func(t *testing.T) {
		res := run(t, "-scenario", "rooms", "-n", "200", "-rooms", "50", "-rate", "100", "-duration", "2s",
			"-admin-email", "admin@example.org", "-admin-password", "admin-password-1")
		clean(t, res, 200)
		if res.Rooms != 50 {
			t.Fatalf("rooms = %d, want 50", res.Rooms)
		}
	})
	t.Run("join-storm", func(t *testing.T) {
		res := run(t, "-scenario", "join-storm", "-n", "200")
		if res.JoinStorm == nil || res.JoinStorm.Joined != 200 || res.JoinStorm.Failed != 0 {
			t.Fatalf("join storm: %+v", res.JoinStorm)
		}
	})
	t.Run("idle", func(t *testing.T) {
		res := run(t, "-scenario", "idle", "-n", "100", "-duration", "1s")
		if res.Idle == nil || res.Setup.Connected != 100 || res.Idle.RSSJoined <= 0 {
			t.Fatalf("idle: %+v %+v", res.Setup, res.Idle)
		}
	})
	t.Run("moderation", func(t *testing.T) {
		res := run(t, "-scenario", "moderation", "-n", "20", "-rate", "5", "-count", "20", "-settle", "0s",
			"-admin-email", "admin@example.org", "-admin-password", "admin-password-1")
		if m := res.Moderation; m == nil || m.Cycles != 20 || m.Failed != 0 {
			t.Fatalf("moderation: %+v", res.Moderation)
		}
	})
	t.Run("refuses remote", func(t *testing.T) {
		var out bytes.Buffer
		err := load.Run(context.Background(), []string{"-url", "http://192.0.2.1:8080", "-scenario", "idle"}, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("non-loopback -url: err = %v", err)
		}
	})
}
