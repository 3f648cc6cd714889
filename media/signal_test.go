package media

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/protocol"
)

// TestGlare: the server is the impolite peer. A client offer made while the server's offer
// awaits an answer is refused with conflict; the client answers the server's offer and
// offers again successfully.
func TestGlare(t *testing.T) {
	tn, host, src := webinar(t)
	att := tn.client("att", "talk", "webinar", RankMember)
	att.hold.Store(true)
	if r := att.join(); r.str("type") != "ok" {
		t.Fatalf("join: %v", r)
	}
	serverOffer := <-att.held // the host's tracks
	if _, err := att.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, _ := att.pc.CreateOffer(nil) // not applied until accepted
	att.mustFail(protocol.CodeConflict, "media.offer", map[string]any{"sdp": offer.SDP})
	att.answerOffer(serverOffer)
	att.release() // later offers (the host's second track) are answered as they come
	if r := att.offer(nil); r.str("type") != "ok" {
		t.Fatalf("offer after answering: %v", r)
	}
	got := att.waitPackets(host.participantID()+":video", 0, 20, 10*time.Second)
	src.checkIntact("after glare", got, true)
}

// TestTrickleCandidates: a client that trickles its candidates (before and after its
// answer) connects; candidates before any description are kept until one arrives.
func TestTrickleCandidates(t *testing.T) {
	tn, host, src := webinar(t)
	att := tn.client("att", "talk", "webinar", RankMember)
	att.hold.Store(true)
	if r := att.join(); r.str("type") != "ok" {
		t.Fatalf("join: %v", r)
	}
	sdp := <-att.held
	sent := make(chan struct{}, 16)
	att.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		if r := att.do("media.candidate", map[string]any{"candidate": c.ToJSON()}); r.str("type") != "ok" {
			att.errorf("media.candidate: %v", r)
		}
		sent <- struct{}{}
	})
	if err := att.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		t.Fatal(err)
	}
	answer, _ := att.pc.CreateAnswer(nil)
	if err := att.pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-sent // at least one candidate went before the answer
	att.must("media.answer", map[string]any{"sdp": answer.SDP})
	att.release()
	got := att.waitPackets(host.participantID()+":video", 0, 20, 10*time.Second)
	src.checkIntact("trickled", got, true)
	att.mustFail(protocol.CodeBadRequest, "media.candidate", map[string]any{})
	// Everything is negotiated now: an answer nobody asked for is refused.
	att.mustFail(protocol.CodeBadRequest, "media.answer", map[string]any{"sdp": att.pc.LocalDescription().SDP})
}
