package media

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
)

// TestMuteStopsForwarding: a host's mute stops the track reaching subscribers within
// 200 ms, everyone's state shows it, the muted participant cannot lift it, and an unmute
// resumes forwarding (on a keyframe). Both actions are audited.
func TestMuteStopsForwarding(t *testing.T) {
	tn, host, _ := webinar(t)
	spk := attendee(t, tn, "spk")
	sub := attendee(t, tn, "sub")
	spkSrc := promote(t, host, spk, true)
	vid := spk.participantID() + ":video"
	sub.waitPackets(vid, 0, 20, 10*time.Second)

	sent := time.Now()
	host.must("media.mute", map[string]any{"user": spk.actor.User.ID, "kind": "video", "muted": true})
	time.Sleep(600 * time.Millisecond)
	got := sub.received(vid)
	if last := got[len(got)-1].at; last.Sub(sent) > 200*time.Millisecond {
		t.Fatalf("video still arrived %v after the mute", last.Sub(sent))
	}
	audio := spk.participantID() + ":audio"
	before := len(sub.received(audio))
	sub.waitPackets(audio, before, 10, 5*time.Second) // only video was muted
	st := sub.next("media.state", 5*time.Second, func(m msg) bool { return mutedKinds(m, spk.participantID())["video"] })
	if st == nil {
		t.Fatal("no state shows the mute")
	}
	spk.mustFail(protocol.CodeForbidden, "media.mute", map[string]any{"user": spk.actor.User.ID, "kind": "video", "muted": false})
	spk.must("media.publish", map[string]any{"kind": "video"}) // republishing does not lift it
	time.Sleep(300 * time.Millisecond)
	if n := len(sub.received(vid)); n != len(got) {
		t.Fatalf("the muted speaker's video reached the subscriber again (%d → %d packets)", len(got), n)
	}

	host.must("media.mute", map[string]any{"user": spk.actor.User.ID, "kind": "video", "muted": false})
	resumed := sub.waitPackets(vid, len(got), 10, 5*time.Second)
	if !isKey(resumed[len(got)].payload) {
		t.Fatalf("forwarding resumed on a delta frame: %x", resumed[len(got)].payload)
	}
	spkSrc.checkIntact("resumed video", resumed, true)
	want := []string{"promote:u-spk", "media_mute:u-spk", "media_unmute:u-spk"}
	if got := tn.aud.actions(); !slices.Equal(got, want) {
		t.Fatalf("audit %v, want %v", got, want)
	}
}

func mutedKinds(st msg, pid string) map[string]bool {
	out := map[string]bool{}
	ps, _ := st["participants"].([]any)
	for _, p := range ps {
		pm, _ := p.(map[string]any)
		if pm["id"] != pid {
			continue
		}
		ks, _ := pm["muted"].([]any)
		for _, k := range ks {
			out[k.(string)] = true
		}
	}
	return out
}

// TestRemoveClosesPeerConnection: a removed participant gets media.ended, its peer
// connection is closed, and it cannot join again.
func TestRemoveClosesPeerConnection(t *testing.T) {
	tn, host, _ := webinar(t)
	att := attendee(t, tn, "att")
	att.waitPackets(host.participantID()+":video", 0, 5, 10*time.Second)
	closed := make(chan struct{})
	att.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected {
			select {
			case <-closed:
			default:
				close(closed)
			}
		}
	})
	host.must("media.remove", map[string]any{"user": att.actor.User.ID, "reason": "disruptive"})
	if ev := att.next("media.ended", 5*time.Second, nil); ev.str("reason") != "removed" {
		t.Fatalf("ended event: %v", ev)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the removed participant's connection is still %v", att.pc.ConnectionState())
	}
	att.mustFail(protocol.CodeForbidden, "media.join", nil)
	att.mustFail(protocol.CodeNotMember, "media.hand", map[string]any{"raised": true})
	if got := tn.aud.actions(); !slices.Equal(got, []string{"media_remove:u-att"}) {
		t.Fatalf("audit %v", got)
	}
}

// TestRoomRemovalEndsMedia: the room's remove or ban (heard on every node) takes the member
// out of the session and keeps them out.
func TestRoomRemovalEndsMedia(t *testing.T) {
	tn, _, _ := webinar(t)
	att := attendee(t, tn, "att")
	tn.n.UserRemoved("talk", att.actor.User.ID)
	att.next("media.ended", 5*time.Second, func(m msg) bool { return m.str("reason") == "removed" })
	att.mustFail(protocol.CodeForbidden, "media.join", nil)
}

// TestAttendeeCannotPublish: an attendee's media.publish is refused, and a track it offers
// anyway is never forwarded.
func TestAttendeeCannotPublish(t *testing.T) {
	tn, host, _ := webinar(t)
	att := attendee(t, tn, "att")
	att.mustFail(protocol.CodeForbidden, "media.publish", map[string]any{"kind": "video"})
	src := newSource(t, att, nil, true)
	if r := att.offer(nil); r.str("type") != "ok" { // sends its tracks without asking
		t.Fatalf("offer: %v", r)
	}
	src.start()
	time.Sleep(time.Second)
	if got := host.received(att.participantID() + ":video"); len(got) > 0 {
		t.Fatalf("an attendee's video reached the host (%d packets)", len(got))
	}
	st := host.state()
	if n := len(st["tracks"].([]any)); n != 2 {
		t.Fatalf("state lists %d tracks, want only the host's 2", n)
	}
}

// TestHandQueue: hands are queued by time, visible to hosts only, and a promotion lowers
// the promoted member's hand.
func TestHandQueue(t *testing.T) {
	tn, host, _ := webinar(t)
	a, b, c := attendee(t, tn, "a"), attendee(t, tn, "b"), attendee(t, tn, "c")
	for _, x := range []*tclient{b, c, a} {
		x.must("media.hand", map[string]any{"raised": true})
		time.Sleep(5 * time.Millisecond)
	}
	b.must("media.hand", map[string]any{"raised": true}) // again: keeps its place
	st := host.state()
	if got := handUsers(st); !slices.Equal(got, []string{"u-b", "u-c", "u-a"}) {
		t.Fatalf("hands %v, want b, c, a in the order raised", got)
	}
	if st := a.state(); st["hands"] != nil {
		t.Fatalf("an attendee sees the hands: %v", st["hands"])
	}
	c.must("media.hand", map[string]any{"raised": false})
	host.must("media.promote", map[string]any{"user": "u-b"})
	b.next("media.hand", 5*time.Second, func(m msg) bool { return m["raised"] == false })
	st = host.state()
	if got := handUsers(st); !slices.Equal(got, []string{"u-a"}) {
		t.Fatalf("hands %v after c lowered and b was promoted, want a", got)
	}
	a.mustFail(protocol.CodeForbidden, "media.promote", map[string]any{"user": "u-c"})
}

func handUsers(st map[string]any) []string {
	var out []string
	hs, _ := st["hands"].([]any)
	for _, h := range hs {
		u := h.(map[string]any)["user"].(map[string]any)
		out = append(out, u["id"].(string))
	}
	return out
}

// TestPromoteDemote: a promoted attendee publishes and is heard; a demotion withdraws its
// tracks from everyone at once.
func TestPromoteDemote(t *testing.T) {
	tn, host, _ := webinar(t)
	att := attendee(t, tn, "att")
	sub := attendee(t, tn, "sub")
	src := promote(t, host, att, true)
	aid := att.participantID() + ":audio"
	got := sub.waitPackets(aid, 0, 25, 10*time.Second)
	src.checkIntact("promoted audio", got, false)
	host.waitPackets(att.participantID()+":video", 0, 10, 10*time.Second)

	host.must("media.demote", map[string]any{"user": att.actor.User.ID})
	time.Sleep(300 * time.Millisecond)
	n := len(sub.received(aid))
	time.Sleep(500 * time.Millisecond)
	if m := len(sub.received(aid)); m != n {
		t.Fatalf("a demoted attendee is still heard (%d → %d packets)", n, m)
	}
	att.mustFail(protocol.CodeForbidden, "media.publish", map[string]any{"kind": "audio"})
	if got := tn.aud.actions(); !slices.Equal(got, []string{"promote:u-att", "demote:u-att"}) {
		t.Fatalf("audit %v", got)
	}
}

// TestSupportSessionCapacity: in a support session everyone publishes, up to the capacity;
// beyond it joining fails with session_full.
func TestSupportSessionCapacity(t *testing.T) {
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, func(c *Config) { c.SupportCapacity = 2 })
	host := tn.client("host", "circle", "support", RankHost)
	member := tn.client("member", "circle", "support", RankMember)
	third := tn.client("third", "circle", "support", RankMember)
	member.mustFail(CodeNotStarted, "media.join", nil)
	member.mustFail(protocol.CodeForbidden, "media.start", nil)
	host.must("media.start", nil)
	host.join()
	if r := member.join(); r.str("type") != "ok" || r.str("role") != "speaker" {
		t.Fatalf("member join: %v", r)
	}
	if r := third.join(); r.str("code") != CodeSessionFull {
		t.Fatalf("third join: want session_full, got %v", r)
	}
	member.must("media.publish", map[string]any{"kind": "audio"})
	member.mustFail(protocol.CodeForbidden, "media.promote", map[string]any{"user": "u-third"})
	host.mustFail(protocol.CodeBadRequest, "media.promote", map[string]any{"user": "u-member"})
	host.must("media.end", nil)
	member.next("media.ended", 5*time.Second, func(m msg) bool { return m.str("reason") == "ended" })
	member.mustFail(CodeNotStarted, "media.hand", map[string]any{"raised": true})
}

// TestControlAuditFirst: when the audit log cannot be written, nothing changes.
func TestControlAuditFirst(t *testing.T) {
	tn, host, _ := webinar(t)
	att := attendee(t, tn, "att")
	tn.aud.mu.Lock()
	tn.aud.fail = true
	tn.aud.mu.Unlock()
	host.mustFail(protocol.CodeUnavailable, "media.promote", map[string]any{"user": att.actor.User.ID})
	att.mustFail(protocol.CodeForbidden, "media.publish", map[string]any{"kind": "audio"})
}
