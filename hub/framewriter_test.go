package hub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// recordConn is a net.Conn that records each write call.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// wsFrame builds a server frame (unmasked) with a payload of n bytes.
func wsFrame(n int, fill byte) []byte {
	f := []byte{0x81}
	switch {
	case n <= 125:
		f = append(f, byte(n))
	case n <= 0xffff:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, bytes.Repeat([]byte{fill}, n)...)
}

// TestFrameWriter: through a 64-byte bufio.Writer, as coder/websocket writes (header,
// payload, flush), every frame reaches the socket whole, in order, and nothing is held
// between frames.
func TestFrameWriter(t *testing.T) {
	sizes := []int{0, 1, 49, 50, 51, 62, 63, 64, 65, 125, 126, 127, 200, 4000, 65535, 65536, 70000}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		sizes = append(sizes, rng.IntN(40000))
	}
	rc := &recordConn{}
	fw := newFrameWriter(rc)
	bw := bufio.NewWriterSize(fw, frameHold)
	var want []byte
	for i, n := range sizes {
		f := wsFrame(n, byte('a'+i%26))
		want = append(want, f...)
		head := len(f) - n
		// coder/websocket writes the header in pieces, then the payload, then flushes.
		for _, b := range f[:2] {
			if err := bw.WriteByte(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := bw.Write(f[2:head]); err != nil {
			t.Fatal(err)
		}
		if _, err := bw.Write(f[head:]); err != nil {
			t.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		if len(fw.held) != 0 {
			t.Fatalf("frame %d (%d bytes): %d bytes held after the flush", i, n, len(fw.held))
		}
	}
	got := bytes.Join(rc.writes, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("wrote %d bytes, want %d; streams differ", len(got), len(want))
	}
}

// TestFrameWriterHoldsAFrameStart: the start of a frame that bufio passes on early is held
// until the rest arrives and then written with it.
func TestFrameWriterHoldsAFrameStart(t *testing.T) {
	rc := &recordConn{}
	fw := newFrameWriter(rc)
	bw := bufio.NewWriterSize(fw, frameHold)
	f := wsFrame(100, 'x') // bufio passes the first 64 bytes on and buffers the last 38
	bw.WriteByte(f[0])     // the header first, as coder/websocket writes it
	bw.WriteByte(f[1])
	bw.Write(f[2:])
	if len(rc.writes) != 0 || len(fw.held) != 64 {
		t.Fatalf("before the flush: %d writes, %d bytes held", len(rc.writes), len(fw.held))
	}
	bw.Flush()
	if got := bytes.Join(rc.writes, nil); !bytes.Equal(got, f) || len(fw.held) != 0 {
		t.Fatalf("after the flush: wrote %d bytes in %d calls, %d held", len(got), len(rc.writes), len(fw.held))
	}
}

// TestFrameWriterText: the hub's own data frames have the right header at every length
// boundary, stay whole beside a frame coder/websocket is halfway through, and are refused
// once the connection is closing.
func TestFrameWriterText(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 0xffff, 0x10000} {
		rc := &recordConn{}
		w := newFrameWriter(rc)
		if err := w.text(bytes.Repeat([]byte{'x'}, n)); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Join(rc.writes, nil); !bytes.Equal(got, wsFrame(n, 'x')) {
			t.Fatalf("%d bytes: frame %x…, want %x…", n, got[:min(12, len(got))], wsFrame(n, 'x')[:min(12, len(got))])
		}
	}

	rc := &recordConn{}
	w := newFrameWriter(rc)
	pong := []byte{0x8A, 3, 'a', 'b', 'c'}
	if _, err := w.Write(pong[:2]); err != nil { // coder/websocket has written half a pong
		t.Fatal(err)
	}
	if err := w.text([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pong[2:]); err != nil {
		t.Fatal(err)
	}
	want := append(wsFrame(2, 0), pong...)
	copy(want[2:], "hi")
	if got := bytes.Join(rc.writes, nil); !bytes.Equal(got, want) {
		t.Fatalf("stream %x, want %x", got, want)
	}

	w.stop()
	if err := w.text([]byte("late")); err != net.ErrClosed {
		t.Fatalf("text after stop: %v", err)
	}
	if _, err := w.Write([]byte{0x88, 0}); err != nil { // the close frame still goes
		t.Fatal(err)
	}
}
