package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// subscriber is one attendee: it receives the publisher's video and audio and counts what
// arrives in the open window.
type subscriber struct {
	member
	idx    int
	tracks [2]*trackStats
	got    atomic.Int32 // tracks that delivered their first packet
	ready  chan struct{}
	once   sync.Once
}

// startSubscriber connects attendee idx; it returns once the media.join is done (the
// media arrives later: see ready).
func startSubscriber(ctx context.Context, ps *peers, base, token, room string, idx int, win *atomic.Pointer[window]) (*subscriber, error) {
	s := &subscriber{idx: idx, ready: make(chan struct{}), tracks: [2]*trackStats{{}, {}}}
	s.room = room
	var err error
	if s.pc, err = ps.newPC(); err != nil {
		return nil, err
	}
	s.watchState()
	s.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		k := trackVideo
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			k = trackAudio
		}
		go s.read(tr, s.tracks[k], k, win)
	})
	if s.conn, err = dialSig(ctx, base, token, s.onEvent); err != nil {
		s.close()
		return nil, err
	}
	if err := s.conn.joinRoom(ctx, room); err != nil {
		s.close()
		return nil, err
	}
	if _, err := s.conn.must(ctx, "media.join", map[string]any{"room": room}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *subscriber) read(tr *webrtc.TrackRemote, st *trackStats, k int, win *atomic.Pointer[window]) {
	buf := make([]byte, 1600)
	first := true
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		seq, num, sent, ok := parseRTP(buf[:n])
		if !ok {
			continue
		}
		st.onPacket(seq, num, sent, now, inWindow(win.Load(), k, num))
		if first {
			first = false
			if s.got.Add(1) == 2 {
				s.once.Do(func() { close(s.ready) })
			}
		}
	}
}
