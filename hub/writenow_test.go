//go:build linux

package hub

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sv := <-accepted
	if sv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { sv.Close(); cl.Close() })
	return sv.(*net.TCPConn), cl.(*net.TCPConn)
}

// readFrames parses n unmasked text frames from br and returns their payloads. The
// caller keeps br: it may already hold bytes that follow the last frame.
func readFrames(t *testing.T, br *bufio.Reader, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for range n {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("frame %d header: %v", len(out), err)
		}
		if h[0] != 0x81 {
			t.Fatalf("frame %d: first byte %#x, want 0x81", len(out), h[0])
		}
		size := uint64(h[1] & 0x7f)
		switch size {
		case 126:
			var b [2]byte
			io.ReadFull(br, b[:])
			size = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			io.ReadFull(br, b[:])
			size = binary.BigEndian.Uint64(b[:])
		}
		p := make([]byte, size)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatalf("frame %d payload: %v", len(out), err)
		}
		out = append(out, p)
	}
	return out
}

// TestTryTextFillsThenFinishes: non-waiting writes go out until the peer's socket is full,
// the frame the socket took part of is kept, and the next waiting write (or a control
// frame) sends its tail first, so the peer reads every frame whole and in order.
func TestTryTextFillsThenFinishes(t *testing.T) {
	sv, cl := tcpPair(t)
	sv.SetWriteBuffer(16 << 10)
	cl.SetReadBuffer(16 << 10)
	fw := newFrameWriter(sv)
	if fw.now == nil {
		t.Fatal("no non-waiting writer for a TCP connection")
	}
	var sent [][]byte
	partial := false
	for i := 0; ; i++ {
		if i == 10_000 {
			t.Fatal("the socket never filled")
		}
		p := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i%300)
		taken, more, err := fw.tryText(p)
		if err != nil {
			t.Fatal(err)
		}
		if taken {
			sent = append(sent, p)
		}
		if !more {
			partial = taken
			break
		}
	}
	if partial != (len(fw.rest) > 0) {
		t.Fatalf("taken=%v but %d tail bytes kept", partial, len(fw.rest))
	}
	// Nothing more goes without waiting while a tail is pending.
	if taken, more, _ := fw.tryText([]byte("x")); taken || more {
		t.Fatal("a non-waiting write went ahead of a pending tail")
	}
	last := []byte(strings.Repeat("z", 70000)) // a 64-bit length header
	done := make(chan error, 2)
	go func() {
		if err := fw.text(last); err != nil {
			done <- err
			return
		}
		done <- fw.control([]byte{0x89, 0}) // a ping, whole, after everything
	}()
	cl.SetReadDeadline(time.Now().Add(30 * time.Second)) // fail, not hang, if a frame is lost
	br := bufio.NewReader(cl)
	got := readFrames(t, br, len(sent)+1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, p := range sent {
		if !bytes.Equal(got[i], p) {
			t.Fatalf("frame %d: %d bytes, want %d (%q…)", i, len(got[i]), len(p), got[i][:min(8, len(got[i]))])
		}
	}
	if !bytes.Equal(got[len(sent)], last) {
		t.Fatal("the waiting write's frame arrived damaged")
	}
	var ping [2]byte
	if _, err := io.ReadFull(br, ping[:]); err != nil || ping != [2]byte{0x89, 0} {
		t.Fatalf("ping %x (%v), want 8900", ping, err)
	}
}

// TestFlushHandsFullSocketToWriter: a member that stops reading does not hold up a room's
// flush; its socket fills, a writer goroutine takes over, and once it reads again it gets
// every event, whole and in order, while a reading member had them all at once.
func TestFlushHandsFullSocketToWriter(t *testing.T) {
	n := newTestNode(t, Config{FlushInterval: time.Hour, PresenceInterval: -1, QueueBytes: 64 << 20, QueueEvents: 10_000})
	slowTok, fastTok := n.user(1), n.user(2)
	slow := n.dial(slowTok)
	slow.join("r1")
	fast := n.dial(fastTok)
	fast.join("r1")
	lr := n.waitLive("r1", 2)
	for _, tok := range []string{slowTok, fastTok} {
		n.serverConn(tok).nc.(*net.TCPConn).SetWriteBuffer(8 << 10) // fills after ~150 KB
	}
	handoffs := counterValue(t, metricWriteHandoffs)
	// 1 KiB each, 20 per flush: under a full frame, so that only flushes start writers.
	const events = 600
	pad := strings.Repeat("x", 1<<10)
	for i := range events {
		lr.onEphemeral([]byte(fmt.Sprintf(`{"type":"typing","room":"r1","n":%d,"pad":"%s"}`, i, pad)))
		if i%20 == 19 {
			lr.flush() // returns although the slow member's socket is full
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, cl := range []*client{fast, slow} {
		next := 0
		for next < events {
			objs, err := cl.frame(ctx)
			if err != nil {
				t.Fatalf("after %d events: %v", next, err)
			}
			for _, m := range objs {
				if m["type"] != "typing" {
					continue
				}
				if m["n"] != float64(next) || len(m["pad"].(string)) != len(pad) {
					t.Fatalf("event %v arrived where %d was due", m["n"], next)
				}
				next++
			}
		}
	}
	if counterValue(t, metricWriteHandoffs) == handoffs {
		t.Fatal("no flush found a socket full: the test did not exercise the hand-off")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
