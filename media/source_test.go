package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// source publishes synthetic media from a test client: VP8 frames (one packet each, with a
// valid payload descriptor and a keyframe every 15 frames or on request) at 30 fps and
// Opus-sized packets at 50 per second. Every payload carries a counter so receivers can be
// checked byte for byte against what was sent.
type source struct {
	t      *testing.T
	video  []*webrtc.TrackLocalStaticRTP // one per simulcast layer (one without simulcast)
	audio  *webrtc.TrackLocalStaticRTP
	vTr    *webrtc.RTPTransceiver
	aTr    *webrtc.RTPTransceiver
	keyReq atomic.Bool
	skip   atomic.Bool // leave out the next video sequence number, as a lost packet would
	rtcpMu sync.Mutex  // guards rtcpIn
	rtcpIn map[string]int
	stop   chan struct{}
	wg     sync.WaitGroup

	mu   sync.Mutex // guards sent
	sent map[string]bool
	// Simulcast needs the mid and rid header extensions written by hand, as a browser would.
	midID, ridID uint8
	// seq0 is every stream's first RTP sequence number (browsers pick theirs at random).
	seq0 uint16
	// framePackets splits each video frame into this many packets of framePacketSize bytes
	// (one layer only; set before start). 0 or 1: one packet a frame.
	framePackets int
}

// framePacketSize is the payload of each packet of a split frame: equal sizes, as an
// encoder's packetizer makes them.
const framePacketSize = 1000

func newSource(t *testing.T, c *tclient, rids []string, withAudio bool) *source {
	t.Helper()
	s := &source{t: t, stop: make(chan struct{}), sent: make(map[string]bool), rtcpIn: make(map[string]int)}
	if len(rids) == 0 {
		rids = []string{""}
	}
	for _, rid := range rids {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(rid))
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "stream-"+c.name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		s.video = append(s.video, tr)
	}
	var err error
	s.vTr, err = c.pc.AddTransceiverFromTrack(s.video[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range s.video[1:] {
		if err := s.vTr.Sender().AddEncoding(tr); err != nil {
			t.Fatal(err)
		}
	}
	go s.readRTCP(s.vTr.Sender())
	if withAudio {
		s.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "stream-"+c.name)
		if err != nil {
			t.Fatal(err)
		}
		if s.aTr, err = c.pc.AddTransceiverFromTrack(s.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		go s.readRTCP(s.aTr.Sender())
	}
	return s
}

// readRTCP tallies what the server says about the source's streams by type; a keyframe
// request makes the next frame a keyframe.
func (s *source) readRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				s.keyReq.Store(true)
			}
			s.rtcpMu.Lock()
			s.rtcpIn[fmt.Sprintf("%T", p)]++
			s.rtcpMu.Unlock()
		}
	}
}

// rtcpCount is how many RTCP packets like p the server has sent the source.
func (s *source) rtcpCount(p rtcp.Packet) int {
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	return s.rtcpIn[fmt.Sprintf("%T", p)]
}

// kinds is the media.publish declaration for the client's offer.
func (s *source) kinds() map[*webrtc.RTPTransceiver]string {
	k := map[*webrtc.RTPTransceiver]string{s.vTr: KindVideo}
	if s.aTr != nil {
		k[s.aTr] = KindAudio
	}
	return k
}

// layerPad sizes each simulcast layer's frames so their bitrates differ as real ones do
// (about 30, 100 and 300 kbit/s at 30 fps).
var layerPad = [3]int{100, 400, 1200}

func vp8Payload(n uint32, key bool, pad int) []byte {
	b := []byte{0x10} // descriptor: S=1, partition 0, no extensions
	if key {
		// Frame tag with P=0 (keyframe), show_frame; start code; 320x240.
		b = append(b, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00)
	} else {
		b = append(b, 0x11, 0x02, 0x00)
	}
	b = append(b, make([]byte, pad)...)
	return binary.BigEndian.AppendUint32(b, n)
}

// start sends until stop; answer must have been applied (the extension ids are known).
func (s *source) start() {
	for _, h := range s.vTr.Sender().GetParameters().HeaderExtensions {
		switch h.URI {
		case "urn:ietf:params:rtp-hdrext:sdes:mid":
			s.midID = uint8(h.ID)
		case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
			s.ridID = uint8(h.ID)
		}
	}
	s.wg.Add(1)
	go s.run()
	s.t.Cleanup(s.halt)
}

func (s *source) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
}

func (s *source) run() {
	defer s.wg.Done()
	vt := time.NewTicker(33 * time.Millisecond)
	defer vt.Stop()
	at := time.NewTicker(20 * time.Millisecond)
	defer at.Stop()
	var frame, audioN uint32
	seqs := make([]uint16, len(s.video))
	for i := range seqs {
		seqs[i] = s.seq0
	}
	aseq := s.seq0
	for {
		select {
		case <-s.stop:
			return
		case <-vt.C:
			key := frame%15 == 0 || s.keyReq.Swap(false)
			if s.skip.Swap(false) {
				for i := range seqs {
					seqs[i]++
				}
			}
			if s.framePackets > 1 {
				s.sendSplitFrame(frame, key, seqs)
				frame++
				continue
			}
			for i, tr := range s.video {
				pad := 0
				if len(s.video) > 1 {
					pad = layerPad[i]
				}
				payload := vp8Payload(frame*4+uint32(i), key, pad) // the counter names the layer
				p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seqs[i],
					Timestamp: frame * 3000}, Payload: payload}
				if tr.RID() != "" && s.midID != 0 {
					_ = p.Header.SetExtension(s.midID, []byte(s.vTr.Mid()))
					_ = p.Header.SetExtension(s.ridID, []byte(tr.RID()))
				}
				seqs[i]++
				s.record(payload)
				_ = tr.WriteRTP(p)
			}
			frame++
		case <-at.C:
			if s.audio == nil {
				continue
			}
			payload := binary.BigEndian.AppendUint32([]byte{0xfc, 0xff, 0xfe}, audioN)
			s.record(payload)
			_ = s.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: audioN * 960}, Payload: payload})
			aseq++
			audioN++
		}
	}
}

// sendSplitFrame sends frame as s.framePackets packets on the one layer: the first starts
// the VP8 partition, the rest continue it, the last has the marker bit. The counter of
// packet k is frame*64+k, so counters still only increase.
func (s *source) sendSplitFrame(frame uint32, key bool, seqs []uint16) {
	for k := range s.framePackets {
		var payload []byte
		if k == 0 {
			payload = vp8Payload(0, key, 0)
			payload = payload[:len(payload)-4]
		} else {
			payload = []byte{0x00} // descriptor: S=0, a continuation
		}
		payload = append(payload, make([]byte, framePacketSize-4-len(payload))...)
		payload = binary.BigEndian.AppendUint32(payload, frame*64+uint32(k))
		p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: k == s.framePackets-1,
			SequenceNumber: seqs[0], Timestamp: frame * 3000}, Payload: payload}
		seqs[0]++
		s.record(payload)
		_ = s.video[0].WriteRTP(p)
	}
}

func (s *source) record(p []byte) {
	s.mu.Lock()
	s.sent[string(p)] = true
	s.mu.Unlock()
}

// checkIntact fails unless every received payload is exactly one that was sent, counters
// only increase, and (for video) the first packet is the start of a keyframe.
func (s *source) checkIntact(who string, pkts []recvPkt, video bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var last uint32
	for i, p := range pkts {
		if !s.sent[string(p.payload)] {
			s.t.Fatalf("%s: packet %d payload %x was never sent", who, i, p.payload)
		}
		n := binary.BigEndian.Uint32(p.payload[len(p.payload)-4:])
		if i > 0 && n <= last {
			s.t.Fatalf("%s: packet %d counter %d after %d: reordered or duplicated", who, i, n, last)
		}
		last = n
	}
	if video && len(pkts) > 0 && !vp8KeyframeStart(pkts[0].payload) {
		s.t.Fatalf("%s: first video packet is not a keyframe: %x", who, pkts[0].payload)
	}
}

func isKey(p []byte) bool { return vp8KeyframeStart(p) && bytes.Contains(p, []byte{0x9d, 0x01, 0x2a}) }
