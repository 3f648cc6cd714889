package media

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// fakeAudit records audit entries and can be made to fail.
type fakeAudit struct {
	mu      sync.Mutex
	entries []store.AuditEntry
	fail    bool
}

func (f *fakeAudit) ApplyModeration(_ context.Context, ch store.ModerationChange) (store.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return store.AuditEntry{}, fmt.Errorf("audit: %w", store.ErrUnavailable)
	}
	f.entries = append(f.entries, ch.Audit)
	return ch.Audit, nil
}

func (f *fakeAudit) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.entries {
		out = append(out, e.Action+":"+e.TargetID)
	}
	return out
}

// testLogger logs warnings, or everything with HAVEN_TEST_LOG=debug.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("HAVEN_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// tnode is one media node on 127.0.0.1 whose "connections" are test clients.
type tnode struct {
	t   *testing.T
	n   *Node
	aud *fakeAudit

	mu      sync.Mutex
	clients map[string]*tclient
	seq     atomic.Int64
}

func newTestNode(t *testing.T, id string, br broker.Broker, reg Registry, mut func(*Config)) *tnode {
	t.Helper()
	cfg := Config{NodeID: id, ListenIP: "127.0.0.1", OwnerTTL: 3 * time.Second, Registry: reg, Logger: testLogger()}
	if mut != nil {
		mut(&cfg)
	}
	tn := &tnode{t: t, aud: &fakeAudit{}, clients: make(map[string]*tclient)}
	tn.n = NewNode(cfg, br, tn.aud)
	tn.n.SetDeliver(tn.deliver)
	if err := tn.n.Start(context.Background()); err != nil {
		t.Fatalf("start media node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tn.n.Close(ctx)
	})
	return tn
}

func (tn *tnode) deliver(key string, frame []byte) {
	tn.mu.Lock()
	c := tn.clients[key]
	tn.mu.Unlock()
	if c != nil {
		c.receive(frame)
	}
}

type msg map[string]any

func (m msg) str(k string) string { s, _ := m[k].(string); return s }

// tclient is one member: a command/event channel to the node and a Pion peer connection.
type tclient struct {
	t     *testing.T
	tn    *tnode
	name  string
	ref   ClientRef
	actor Actor
	room  string
	kind  string

	mu      sync.Mutex // guards replies, tracks
	replies map[string]msg
	tracks  map[string]*recvTrack
	events  chan msg

	pc    *webrtc.PeerConnection
	sigMu sync.Mutex // one offer/answer exchange at a time on this client
	over  atomic.Bool
	// hold keeps server offers in held instead of answering them (glare tests).
	hold atomic.Bool
	held chan string
	// iceConfig, when set, configures the client's peer connection (TURN tests).
	iceConfig webrtc.Configuration
	// networks restricts the client's ICE to these (default UDP over IPv4).
	networks []webrtc.NetworkType
	// acceptReplays turns SRTP replay protection off, so retransmissions of packets
	// already received arrive (NACK tests).
	acceptReplays bool
	// inner interceptors go below the default ones (they see packets first on the way in).
	inner []interceptor.Factory
	// tune, when set, adjusts the client's setting engine (SRTP profiles, DTLS role).
	tune func(*webrtc.SettingEngine)
}

// errorf reports a failure from a client goroutine, unless the test is already over.
func (c *tclient) errorf(format string, args ...any) {
	if !c.over.Load() {
		c.t.Errorf(format, args...)
	}
}

type recvTrack struct {
	id, kind string
	ssrc     uint32
	pkts     []recvPkt
	srs      []recvSR
}

type recvPkt struct {
	payload []byte
	seq     uint16
	ts      uint32
	at      time.Time
}

// recvSR is a sender report received for a track, with the packets received before it.
type recvSR struct {
	sr     rtcp.SenderReport
	before int
}

func (tn *tnode) client(name, room, kind string, rank int) *tclient {
	c := &tclient{t: tn.t, tn: tn, name: name, room: room, kind: kind,
		ref:     ClientRef{Node: tn.n.cfg.NodeID, Key: "k-" + name},
		actor:   Actor{User: protocol.User{ID: "u-" + name, DisplayName: name, Role: "member"}, Rank: rank},
		replies: make(map[string]msg), tracks: make(map[string]*recvTrack), events: make(chan msg, 4096),
		held: make(chan string, 16)}
	tn.mu.Lock()
	tn.clients[c.ref.Key] = c
	tn.mu.Unlock()
	tn.t.Cleanup(func() { c.over.Store(true) })
	return c
}

func (c *tclient) receive(frame []byte) {
	var m msg
	if err := json.Unmarshal(frame, &m); err != nil {
		c.errorf("%s: undecodable frame %s", c.name, frame)
		return
	}
	if re := m.str("re"); re != "" {
		c.mu.Lock()
		c.replies[re] = m
		c.mu.Unlock()
		return
	}
	if m.str("type") == "media.offer" {
		if c.hold.Load() {
			c.held <- m.str("sdp")
			return
		}
		go c.answerOffer(m.str("sdp"))
		return
	}
	select {
	case c.events <- m:
	default:
	}
}

// do runs one command to its reply (an error reply, or the error Handle returned).
func (c *tclient) do(typ string, body map[string]any) msg {
	c.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["room"] = c.room
	raw, _ := json.Marshal(body)
	id := "c" + strconv.FormatInt(c.tn.seq.Add(1), 10)
	req := Request{ID: id, Type: typ, Room: c.room, RoomID: "r-" + c.room, RoomKind: c.kind,
		Client: c.ref, Actor: c.actor, Body: raw}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.tn.n.Handle(ctx, req); err != nil {
		pe := protocol.AsError(err)
		return msg{"type": "error", "code": pe.Code, "message": pe.Message}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.replies[id]
	if r == nil {
		c.t.Fatalf("%s %s: Handle returned without a reply", c.name, typ)
	}
	return r
}

func (c *tclient) must(typ string, body map[string]any) msg {
	c.t.Helper()
	r := c.do(typ, body)
	if r.str("type") != "ok" {
		c.t.Fatalf("%s %s: %v", c.name, typ, r)
	}
	return r
}

func (c *tclient) mustFail(code, typ string, body map[string]any) msg {
	c.t.Helper()
	r := c.do(typ, body)
	if r.str("type") != "error" || r.str("code") != code {
		c.t.Fatalf("%s %s: want error %s, got %v", c.name, typ, code, r)
	}
	return r
}

// next waits for an event of typ that matches ok.
func (c *tclient) next(typ string, d time.Duration, ok func(msg) bool) msg {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.events:
			if m.str("type") == typ && (ok == nil || ok(m)) {
				return m
			}
		case <-deadline:
			c.t.Fatalf("%s: no %s event within %v", c.name, typ, d)
			return nil
		}
	}
}

// release stops holding server offers, answering any already held.
func (c *tclient) release() {
	c.hold.Store(false)
	for {
		select {
		case sdp := <-c.held:
			go c.answerOffer(sdp)
		default:
			return
		}
	}
}

// state reads the session as this client sees it (joining again answers with it).
func (c *tclient) state() map[string]any {
	c.t.Helper()
	st, _ := c.must("media.join", nil)["state"].(map[string]any)
	return st
}

// join joins the session and creates the client's peer connection.
func (c *tclient) join() msg {
	c.t.Helper()
	c.sigMu.Lock() // a server offer may follow the reply at once
	c.pc = newClientPC(c.t, c.iceConfig, c.acceptReplays, c.inner, c.tune, c.networks...)
	pc := c.pc
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		// Offers are sent before they are applied (so before gathering): candidates trickle.
		if cand != nil && !c.over.Load() {
			go c.do("media.candidate", map[string]any{"candidate": cand.ToJSON()})
		}
	})
	c.t.Cleanup(func() {
		c.over.Store(true) // what the closing connection's goroutines report is noise now
		_ = pc.Close()
	})
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		rt := &recvTrack{id: tr.ID(), kind: tr.Kind().String(), ssrc: uint32(tr.SSRC())}
		c.mu.Lock()
		c.tracks[tr.ID()] = rt
		c.mu.Unlock()
		go func() {
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				c.mu.Lock()
				rt.pkts = append(rt.pkts, recvPkt{payload: append([]byte(nil), p.Payload...), seq: p.SequenceNumber,
					ts: p.Timestamp, at: time.Now()})
				c.mu.Unlock()
			}
		}()
		go func() {
			for {
				pkts, _, err := rcv.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == rt.ssrc {
						c.mu.Lock()
						rt.srs = append(rt.srs, recvSR{sr: *sr, before: len(rt.pkts)})
						c.mu.Unlock()
					}
				}
			}
		}()
	})
	c.sigMu.Unlock()
	return c.do("media.join", nil)
}

// answerOffer is the client's side of a server offer; a polite peer, it rolls back its own
// pending offer first.
func (c *tclient) answerOffer(sdp string) {
	c.sigMu.Lock()
	defer c.sigMu.Unlock()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		c.errorf("%s: apply server offer: %v", c.name, err)
		return
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.errorf("%s: answer: %v", c.name, err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		c.errorf("%s: set answer: %v", c.name, err)
		return
	}
	<-gathered
	if r := c.do("media.answer", map[string]any{"sdp": c.pc.LocalDescription().SDP}); r.str("type") != "ok" {
		c.errorf("%s: media.answer: %v", c.name, r)
	}
}

// offer sends the client's offer (after declaring kinds for mids) and applies it only
// once the server has answered: on conflict (the server's offer is pending) nothing was
// applied, so the client answers the server's offer and tries again. No rollback needed.
func (c *tclient) offer(kinds map[*webrtc.RTPTransceiver]string) msg {
	c.t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		c.sigMu.Lock()
		offer, err := c.pc.CreateOffer(nil)
		if err != nil {
			c.sigMu.Unlock()
			c.t.Fatalf("%s: create offer: %v", c.name, err)
		}
		for tr, kind := range kinds {
			if r := c.do("media.publish", map[string]any{"kind": kind, "mid": tr.Mid()}); r.str("type") != "ok" {
				c.sigMu.Unlock()
				return r
			}
		}
		r := c.do("media.offer", map[string]any{"sdp": offer.SDP})
		if r.str("code") == protocol.CodeConflict {
			c.sigMu.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if r.str("type") == "ok" {
			if err := c.pc.SetLocalDescription(offer); err != nil {
				c.sigMu.Unlock()
				c.t.Fatalf("%s: set offer: %v", c.name, err)
			}
			if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.str("sdp")}); err != nil {
				c.sigMu.Unlock()
				c.t.Fatalf("%s: apply answer: %v", c.name, err)
			}
		}
		c.sigMu.Unlock()
		return r
	}
	c.t.Fatalf("%s: offer kept colliding with the server's", c.name)
	return nil
}

// received returns copies of what arrived on track id.
func (c *tclient) received(id string) []recvPkt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rt := c.tracks[id]; rt != nil {
		return append([]recvPkt(nil), rt.pkts...)
	}
	return nil
}

// waitPackets waits until track id has delivered at least n packets (after the first
// "from" ones).
func (c *tclient) waitPackets(id string, from, n int, d time.Duration) []recvPkt {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := c.received(id); len(got) >= from+n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("%s: track %s delivered %d packets, want %d within %v", c.name, id, len(c.received(id)), from+n, d)
	return nil
}

// newClientPC is a browser stand-in: VP8 and Opus, the default interceptors (NACK, reports,
// simulcast extensions, transport-cc feedback), loopback only, no mDNS.
func newClientPC(t *testing.T, conf webrtc.Configuration, acceptReplays bool, inner []interceptor.Factory,
	tune func(*webrtc.SettingEngine), networks ...webrtc.NetworkType) *webrtc.PeerConnection {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	for _, f := range inner {
		ir.Add(f)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	}
	se.SetNetworkTypes(networks)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.DisableSRTPReplayProtection(acceptReplays)
	if tune != nil {
		tune(&se)
	}
	se.LoggerFactory = pionLogs{log: testLogger()}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}
