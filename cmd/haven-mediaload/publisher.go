package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// publisher is the webinar's host: it starts the session and sends synthetic VP8 (valid
// payload descriptors, a keyframe every KeyEvery and at once on a PLI) and Opus-sized
// audio, each packet ending with the trailer (packet number, send time).
type publisher struct {
	member
	shape  shape
	next   [2]atomic.Uint32 // packets sent per track: the next packet's number
	plis   atomic.Int64     // keyframe requests the server sent us
	keyNow atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// shape is the publisher's stream: sizes derived from the bit rate.
type shape struct {
	fps        int
	keyEvery   int // frames
	keySize    int // bytes of a keyframe
	deltaSize  int // bytes of a delta frame
	audioSize  int // bytes of one 20 ms Opus packet
	maxPayload int
}

// keyFactor is how much larger a keyframe is than a delta frame.
const keyFactor = 4

func newShape(bitrate, fps int, keyEvery time.Duration) shape {
	s := shape{fps: fps, audioSize: 120, maxPayload: 1100}
	s.keyEvery = max(1, int(keyEvery.Seconds()*float64(fps)+0.5))
	videoBytes := float64(bitrate-s.audioSize*8*50) / 8 // per second
	perGroup := videoBytes * float64(s.keyEvery) / float64(fps)
	s.deltaSize = max(64, int(perGroup/float64(s.keyEvery-1+keyFactor)))
	s.keySize = keyFactor * s.deltaSize
	if s.keyEvery == 1 {
		s.keySize = max(64, int(perGroup))
	}
	return s
}

// bitrate is the payload bit rate the shape really sends.
func (s shape) bitrate() float64 {
	group := float64(s.keySize + (s.keyEvery-1)*s.deltaSize)
	return group*8*float64(s.fps)/float64(s.keyEvery) + float64(s.audioSize*8*50)
}

// packetSizes splits a frame of size bytes into payloads of at most maxPayload.
func (s shape) packetSizes(size int) []int {
	n := (size + s.maxPayload - 1) / s.maxPayload
	out := make([]int, n)
	for i := range out {
		out[i] = size / n
		if i < size%n {
			out[i]++
		}
	}
	return out
}

// vp8Header writes the VP8 payload descriptor (RFC 7741: X=1, I=1 with a 15-bit picture
// id, S on the first packet of a frame, partition 0) and, on a frame's first packet, the
// VP8 frame tag (P clear on a keyframe) and a keyframe's start code and size.
func vp8Header(b []byte, picID uint16, first, key bool) []byte {
	d := byte(0x80) // X
	if first {
		d |= 0x10 // S
	}
	b = append(b, d, 0x80, 0x80|byte(picID>>8&0x7f), byte(picID))
	if !first {
		return b
	}
	if key {
		return append(b, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01) // 640×360
	}
	return append(b, 0x11, 0x02, 0x00)
}

// appendTrailer pads b to size bytes and ends it with the packet number and send time.
func appendTrailer(b []byte, size int, num uint32, sent int64) []byte {
	for len(b) < size-trailerLen {
		b = append(b, 0xa5)
	}
	b = binary.BigEndian.AppendUint32(b, num)
	return binary.BigEndian.AppendUint64(b, uint64(sent))
}

// parseRTP reads what the tool needs from one received RTP packet: the sequence number
// and the trailer. It allocates nothing.
func parseRTP(b []byte) (seq uint16, num uint32, sent int64, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, 0, 0, false
	}
	seq = binary.BigEndian.Uint16(b[2:4])
	end := len(b)
	if b[0]&0x20 != 0 { // padding
		end -= int(b[end-1])
	}
	hl := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < hl+4 {
			return 0, 0, 0, false
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(b[hl+2:hl+4]))
	}
	if end-hl < trailerLen {
		return 0, 0, 0, false
	}
	t := b[end-trailerLen : end]
	return seq, binary.BigEndian.Uint32(t[:4]), int64(binary.BigEndian.Uint64(t[4:])), true
}

// startPublisher joins the room as the host, starts (or finds) the session, publishes a
// camera and a microphone and starts sending.
func startPublisher(ctx context.Context, ps *peers, base, token, room string, sh shape) (*publisher, error) {
	p := &publisher{shape: sh, stop: make(chan struct{})}
	p.room = room
	var err error
	if p.conn, err = dialSig(ctx, base, token, p.onEvent); err != nil {
		return nil, err
	}
	if err := p.conn.joinRoom(ctx, room); err != nil {
		p.close()
		return nil, err
	}
	if _, err := p.conn.must(ctx, "media.start", map[string]any{"room": room}); err != nil {
		p.close()
		return nil, err
	}
	if p.pc, err = ps.newPC(); err != nil {
		p.close()
		return nil, err
	}
	p.watchState()
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil && !p.closed.Load() {
			go func() {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, _ = p.conn.do(cctx, "media.candidate", map[string]any{"room": room, "candidate": c.ToJSON()})
			}()
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	p.pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	if _, err := p.conn.must(ctx, "media.join", map[string]any{"room": room}); err != nil {
		p.close()
		return nil, err
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "mediaload")
	if err != nil {
		p.close()
		return nil, err
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "mediaload")
	if err != nil {
		p.close()
		return nil, err
	}
	vt, err := p.pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.close()
		return nil, err
	}
	at, err := p.pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.close()
		return nil, err
	}
	if err := p.offer(ctx, map[*webrtc.RTPTransceiver]string{vt: "video", at: "audio"}); err != nil {
		p.close()
		return nil, err
	}
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		p.close()
		return nil, errors.New("publisher: ICE did not connect within 20s")
	case <-ctx.Done():
		p.close()
		return nil, ctx.Err()
	}
	p.wg.Add(3)
	go p.readRTCP(vt.Sender())
	go p.sendVideo(video)
	go p.sendAudio(audio)
	go func() { _ = drainRTCP(at.Sender()) }()
	return p, nil
}

// offer publishes: the client offers, and applies its offer only once the server accepted
// it (on conflict, the server's own offer is being answered; try again).
func (p *publisher) offer(ctx context.Context, kinds map[*webrtc.RTPTransceiver]string) error {
	for attempt := 0; attempt < 20; attempt++ {
		p.sig.Lock()
		offer, err := p.pc.CreateOffer(nil)
		if err != nil {
			p.sig.Unlock()
			return err
		}
		for tr, kind := range kinds {
			if _, err := p.conn.must(ctx, "media.publish", map[string]any{"room": p.room, "kind": kind, "mid": tr.Mid()}); err != nil {
				p.sig.Unlock()
				return err
			}
		}
		r, err := p.conn.do(ctx, "media.offer", map[string]any{"room": p.room, "sdp": offer.SDP})
		if err != nil {
			p.sig.Unlock()
			return err
		}
		if r.code() == "conflict" {
			p.sig.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if r.typ() != "ok" {
			p.sig.Unlock()
			return fmt.Errorf("media.offer: %s: %s", r.code(), r.str("message"))
		}
		gathered := webrtc.GatheringCompletePromise(p.pc)
		err = p.pc.SetLocalDescription(offer)
		if err == nil {
			err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.str("sdp")})
		}
		p.sig.Unlock()
		if err != nil {
			return fmt.Errorf("publisher: apply the server's answer: %w", err)
		}
		// The server learns our address from the checks (peer-reflexive); it needs no
		// candidates from us. Wait for gathering anyway so the sockets exist.
		<-gathered
		return nil
	}
	return errors.New("publisher: offer kept colliding with the server's")
}

func drainRTCP(s *webrtc.RTPSender) error {
	for {
		if _, _, err := s.ReadRTCP(); err != nil {
			return err
		}
	}
}

// readRTCP turns keyframe requests into a keyframe at the next frame, as a browser does.
func (p *publisher) readRTCP(s *webrtc.RTPSender) {
	defer p.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.plis.Add(1)
				p.keyNow.Store(true)
			}
		}
	}
}

func (p *publisher) sendVideo(t *webrtc.TrackLocalStaticRTP) {
	defer p.wg.Done()
	sh := p.shape
	tick := time.NewTicker(time.Second / time.Duration(sh.fps))
	defer tick.Stop()
	start := time.Now()
	tsBase := randUint32()
	seq := uint16(randUint32())
	buf := make([]byte, 0, sh.maxPayload+trailerLen)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}}
	for frame := 0; ; frame++ {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		key := frame%sh.keyEvery == 0
		if p.keyNow.Swap(false) {
			key = true
		}
		size := sh.deltaSize
		if key {
			size = sh.keySize
		}
		ts := tsBase + uint32(time.Since(start).Seconds()*90000)
		sizes := sh.packetSizes(size)
		for i, n := range sizes {
			num := p.next[trackVideo].Add(1) - 1 // counted before it is sent: see measure
			b := vp8Header(buf[:0], uint16(frame), i == 0, key)
			b = appendTrailer(b, max(n, len(b)+trailerLen), num, time.Now().UnixNano())
			pkt.Header.Marker = i == len(sizes)-1
			pkt.Header.SequenceNumber = seq
			pkt.Header.Timestamp = ts
			pkt.Payload = b
			seq++
			_ = t.WriteRTP(pkt) // fails only once closed
		}
	}
}

func (p *publisher) sendAudio(t *webrtc.TrackLocalStaticRTP) {
	defer p.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	ts := randUint32()
	seq := uint16(randUint32())
	buf := make([]byte, 0, p.shape.audioSize)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}}
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		num := p.next[trackAudio].Add(1) - 1
		pkt.Header.SequenceNumber, pkt.Header.Timestamp = seq, ts
		pkt.Payload = appendTrailer(append(buf[:0], 0xfc), p.shape.audioSize, num, time.Now().UnixNano())
		_ = t.WriteRTP(pkt)
		seq++
		ts += 960
	}
}

func (p *publisher) shutdown() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.close()
	p.wg.Wait()
}

func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}
