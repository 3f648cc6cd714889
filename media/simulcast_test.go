package media

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/havenhealth/haven/broker"
)

// layerOf reads the layer a packet came from (the source's counter is frame*4 + layer).
func layerOf(p recvPkt) int { return int(binary.BigEndian.Uint32(p.payload[len(p.payload)-4:]) % 4) }

// TestSimulcastLayers: a subscriber's layer follows its bandwidth estimate (REMB) and a
// manual override, switching only on keyframes, with no gap in its sequence numbers.
func TestSimulcastLayers(t *testing.T) {
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, nil)
	host := tn.client("host", "talk", "webinar", RankHost)
	host.must("media.start", nil)
	host.join()
	src := newSource(t, host, []string{"q", "h", "f"}, false)
	if r := host.offer(src.kinds()); r.str("type") != "ok" {
		t.Fatalf("simulcast offer: %v", r)
	}
	src.start()
	sub := attendee(t, tn, "sub")
	track := host.participantID() + ":video"

	// Unconstrained (1 Mbit/s), the full layer wins within a few ticks.
	sub.waitLayer(track, 2, 10*time.Second)
	st := sub.state()
	if ls := st["tracks"].([]any)[0].(map[string]any)["layers"]; len(ls.([]any)) != 3 {
		t.Fatalf("state layers %v, want q, h, f", ls)
	}

	// The receiver says 60 kbit/s: down to q at the next tick.
	stop := sub.sendREMB(track, 60_000)
	sub.waitLayer(track, 0, 10*time.Second)

	// A manual choice wins over the estimate; auto gives it back.
	sub.must("media.layer", map[string]any{"track": track, "layer": "h"})
	sub.waitLayer(track, 1, 10*time.Second)
	sub.must("media.layer", map[string]any{"track": track, "layer": "auto"})
	sub.waitLayer(track, 0, 10*time.Second)
	close(stop)

	sub.mustFail("bad_request", "media.layer", map[string]any{"track": track, "layer": "x"})
	sub.mustFail("not_found", "media.layer", map[string]any{"track": "nope", "layer": "q"})

	// Every packet is one that was sent; frames only move forward, except that a switch may
	// show the switch-point frame once more from the new layer (the layers' streams race);
	// a switch happens only on a keyframe; the sequence numbers have no gap.
	got := sub.received(track)
	for i, p := range got {
		src.checkIntact("simulcast", got[i:i+1], i == 0)
		if i == 0 {
			continue
		}
		prev := got[i-1]
		frame, prevFrame := counterOf(p)/4, counterOf(prev)/4
		switched := layerOf(p) != layerOf(prev)
		if frame < prevFrame || (frame == prevFrame && !switched) {
			t.Fatalf("packet %d: frame %d after frame %d", i, frame, prevFrame)
		}
		if p.seq != prev.seq+1 {
			t.Fatalf("sequence gap at packet %d: %d after %d", i, p.seq, prev.seq)
		}
		if switched && !isKey(p.payload) {
			t.Fatalf("switched from layer %d to %d on a delta frame", layerOf(prev), layerOf(p))
		}
	}
}

func counterOf(p recvPkt) uint32 { return binary.BigEndian.Uint32(p.payload[len(p.payload)-4:]) }

// waitLayer waits until the newest packets of track come from layer.
func (c *tclient) waitLayer(track string, layer int, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		got := c.received(track)
		if n := len(got); n >= 3 && layerOf(got[n-1]) == layer && layerOf(got[n-3]) == layer {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := c.received(track)
	last := -1
	if len(got) > 0 {
		last = layerOf(got[len(got)-1])
	}
	c.t.Fatalf("%s: track %s still on layer %d, want %d", c.name, track, last, layer)
}

// sendREMB sends the receiver's bandwidth estimate for track every 200 ms until stopped.
func (c *tclient) sendREMB(track string, bps float32) chan struct{} {
	c.mu.Lock()
	ssrc := c.tracks[track].ssrc
	c.mu.Unlock()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: bps, SSRCs: []uint32{ssrc}}})
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return stop
}
