package load

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseURLs(t *testing.T) {
	got, err := parseURLs("http://127.0.0.1:8080/, http://localhost:8081", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://127.0.0.1:8080", "http://localhost:8081"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("parseURLs = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://127.0.0.1", "http://127.0.0.1:8080,", "http://127.0.0.1:1,http://192.0.2.1:2"} {
		if _, err := parseURLs(bad, false); err == nil {
			t.Errorf("parseURLs(%q) accepted", bad)
		}
	}
	if _, err := parseURLs("http://127.0.0.1:1,http://192.0.2.1:2", true); err != nil {
		t.Errorf("-allow-remote: %v", err)
	}
}

func TestParseOptionsModeration(t *testing.T) {
	admin := []string{"-admin-email", "a@example.org", "-admin-password", "admin-password-1"}
	parse := func(args ...string) (options, error) { return parseOptions(args, io.Discard) }

	o, err := parse(append([]string{"-scenario", "moderation", "-url", "http://127.0.0.1:1,http://127.0.0.1:2", "-n", "50", "-count", "7"}, admin...)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.URLs) != 2 || o.URL != "http://127.0.0.1:1" || o.Count != 7 || len(o.Rates) != 1 || o.Rates[0] != 5 || o.Timeout != 5*time.Second {
		t.Fatalf("options: %+v", o)
	}
	if o, err := parse(append([]string{"-scenario", "moderation", "-n", "3"}, admin...)...); err != nil || o.Rates[0] != 1 {
		t.Fatalf("small -n: rate %v, err %v", o.Rates, err)
	}
	for name, args := range map[string][]string{
		"no admin":         {"-scenario", "moderation"},
		"negative count":   append([]string{"-scenario", "moderation", "-count", "-1"}, admin...),
		"rate steps":       append([]string{"-scenario", "moderation", "-rate", "1,2"}, admin...),
		"rate per member":  append([]string{"-scenario", "moderation", "-n", "2", "-rate", "10"}, admin...),
		"no member on B":   append([]string{"-scenario", "moderation", "-n", "1", "-url", "http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3"}, admin...),
		"timeout":          append([]string{"-scenario", "moderation", "-effect-timeout", "0s"}, admin...),
		"idle on 2 nodes":  {"-scenario", "idle", "-url", "http://127.0.0.1:1,http://127.0.0.1:2"},
		"remote 2nd node":  {"-scenario", "broadcast", "-url", "http://127.0.0.1:1,http://192.0.2.1:2"},
		"unknown scenario": {"-scenario", "moderate"},
	} {
		if _, err := parse(args...); err == nil {
			t.Errorf("%s: %q accepted", name, args)
		}
	}
	if o, err := parse("-scenario", "broadcast", "-url", "http://127.0.0.1:1,http://127.0.0.1:2"); err != nil || len(o.URLs) != 2 {
		t.Fatalf("broadcast on 2 nodes: %+v %v", o.URLs, err)
	}
}

func TestScanModerationEvents(t *testing.T) {
	var f fields
	ev := `{"type":"moderation","room":"r1","action":"mute","target":{"id":"u1","display_name":"A b","role":"member","verified":false},"until":"2026-01-01T00:00:00Z","reason":"x"}`
	if err := scanObject([]byte(ev), &f); err != nil {
		t.Fatal(err)
	}
	if string(f.Type) != "moderation" || string(f.Room) != "r1" || string(f.Action) != "mute" {
		t.Fatalf("moderation event: type %q room %q action %q", f.Type, f.Room, f.Action)
	}
	if err := scanObject([]byte(`{"type":"removed","room":"r1","reason":"off topic","banned":false}`), &f); err != nil {
		t.Fatal(err)
	}
	if string(f.Type) != "removed" || string(f.Room) != "r1" || f.Action != nil {
		t.Fatalf("removed event: %+v", f)
	}
}

// TestModRunStreams checks event routing and the stream bookkeeping across a removal.
func TestModRunStreams(t *testing.T) {
	mr := &modRun{slug: "r1", bg: &stepStats{rejectedBy: map[string]int{}}, ms: []*modMember{{events: make(chan modEvent, 4)}}}
	c := &conn{idx: 0}
	mod := &conn{idx: -1}
	scan := func(s string) *fields {
		var f fields
		if err := scanObject([]byte(s), &f); err != nil {
			t.Fatal(err)
		}
		return &f
	}
	m := mr.ms[0]
	mr.onMessage(c, scan(`{"type":"message","room":"r1","seq":3,"text":"L1|0|x"}`), 5) // before the join: ignored
	m.next.Store(4)                                                                    // joined at last_seq 3
	for _, seq := range []string{"4", "5", "7", "7", "8"} {
		mr.onMessage(c, scan(`{"type":"message","room":"r1","seq":`+seq+`,"text":"L1|0|x"}`), 5)
	}
	mr.onMessage(c, scan(`{"type":"message","room":"other","seq":1}`), 5)
	mr.onMessage(mod, scan(`{"type":"message","room":"r1","seq":9}`), 5)
	if m.gaps.Load() != 1 || m.dups.Load() != 1 || m.next.Load() != 9 || mr.bg.deliveries.Load() != 5 || mr.bg.lat.n.Load() != 5 {
		t.Fatalf("gaps %d dups %d next %d deliveries %d", m.gaps.Load(), m.dups.Load(), m.next.Load(), mr.bg.deliveries.Load())
	}

	mr.onEvent(c, scan(`{"type":"presence","room":"r1","online":2}`), 10)
	mr.onEvent(c, scan(`{"type":"moderation","room":"other","action":"mute"}`), 11)
	mr.onEvent(mod, scan(`{"type":"moderation","room":"r1","action":"mute"}`), 12)
	mr.onEvent(c, scan(`{"type":"moderation","room":"r1","action":"mute"}`), 13)
	mr.onEvent(c, scan(`{"type":"removed","room":"r1","reason":"x","banned":false}`), 14)
	if e := <-m.events; e != (modEvent{typ: "moderation", action: "mute", at: 13}) {
		t.Fatalf("first event %+v", e)
	}
	if e := <-m.events; e.typ != "removed" || e.at != 14 {
		t.Fatalf("second event %+v", e)
	}
	for i := 0; i < 10; i++ { // a full queue drops rather than blocks the reader
		mr.onEvent(c, scan(`{"type":"removed","room":"r1"}`), 15)
	}
	drainEvents(m.events)
	if len(m.events) != 0 {
		t.Fatal("drainEvents left events")
	}
}

func TestModerationReport(t *testing.T) {
	l := func(n uint64, p99 float64) Latency {
		return Latency{Count: n, P50: p99 / 4, P90: p99 / 2, P99: p99, Max: p99 * 2}
	}
	m := &Moderation{Nodes: 2, Room: "load-mod-x", Targets: 50, Cycles: 200, MuteEffect: l(200, 12.5), MuteEvent: l(200, 9),
		UnmuteEffect: l(200, 11), RemoveEffect: l(200, 8.25), RemoveAck: l(200, 7), MuteAck: l(200, 6), Rejoin: l(200, 3),
		TargetP99MS: 100}
	m.TargetMet = targetMet(m)
	if !m.TargetMet {
		t.Fatal("p99 12.5 and 8.25 ms: target not met")
	}
	res := &Result{Scenario: "moderation", URL: "http://127.0.0.1:1", URLs: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"},
		Members: 100, Moderation: m, Errors: []ErrorCount{}}
	var b bytes.Buffer
	res.writeTable(&b)
	out := b.String()
	for _, want := range []string{"servers", "http://127.0.0.1:2", "200 cycles", "mute → in effect", "12.50", "remove → removed on every connection", "8.25", "p99 < 100 ms: met"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if err := res.verdict(); err != nil {
		t.Errorf("clean run: %v", err)
	}

	b.Reset()
	if err := res.writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Moderation == nil || back.Moderation.RemoveEffect.P99 != 8.25 || len(back.URLs) != 2 {
		t.Fatalf("JSON round trip: %v %+v", err, back.Moderation)
	}

	for name, change := range map[string]func(m *Moderation){
		"slow mute":    func(m *Moderation) { m.MuteEffect.P99 = 100 },
		"slow remove":  func(m *Moderation) { m.RemoveEffect.P99 = 250 },
		"failures":     func(m *Moderation) { m.Failed = 1 },
		"no removals":  func(m *Moderation) { m.RemoveEffect = Latency{} },
		"nothing done": func(m *Moderation) { m.MuteEffect, m.RemoveEffect = Latency{}, Latency{} },
	} {
		c := *m
		change(&c)
		if targetMet(&c) {
			t.Errorf("%s: target met", name)
		}
	}
	c := *m
	c.MuteEffect.P99 = 140
	c.TargetMet = targetMet(&c)
	b.Reset()
	c.writeTable(&b)
	if !strings.Contains(b.String(), "NOT met (mute 140.00") {
		t.Errorf("table does not say the target is missed:\n%s", b.String())
	}
	for name, change := range map[string]func(m *Moderation){
		"failed": func(m *Moderation) { m.Failed = 2 },
		"lost":   func(m *Moderation) { m.Lost = 1 },
		"idle":   func(m *Moderation) { m.Cycles = 0 },
	} {
		c := *m
		change(&c)
		if err := (&Result{Scenario: "moderation", Moderation: &c}).verdict(); err == nil {
			t.Errorf("%s: verdict clean", name)
		}
	}
}
