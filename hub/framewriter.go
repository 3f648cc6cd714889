package hub

import (
	"encoding/binary"
	"net"
	"sync"
)

// frameHold is the size of coder/websocket's write buffer over a frameWriter, and the
// most a frameWriter holds back without allocating.
const frameHold = 64

// frameWriter is the writer under coder/websocket's bufio.Writer. To write each frame in
// one call, that buffer would have to hold whole frames, and it stays allocated for the
// connection's life: 4 KiB per idle client. Instead the buffer is 64 bytes, and
// frameWriter holds back the start of a frame that bufio passes on early until the rest
// arrives, then writes both with one writev. It reads WebSocket frame headers to know
// where a frame ends; coder/websocket flushes at the end of every frame it writes, so
// nothing is held between frames.
type frameWriter struct {
	mu   sync.Mutex // serialises coder/websocket's writes with control (pings)
	nc   net.Conn
	held []byte          // the start of an incomplete frame; backed by hold when it fits
	hold [frameHold]byte //
	bufs [2][]byte       // writev arguments, kept here so that a write does not allocate
	// stopped: the connection is closing; data frames are refused (text).
	stopped bool
	// now writes without waiting (nil where that is not possible); rest is the tail of a
	// frame such a write could not finish, which every later write sends first.
	now  *nowWriter
	rest []byte
}

func newFrameWriter(nc net.Conn) *frameWriter {
	return &frameWriter{nc: nc, now: newNowWriter(nc)}
}

// finishLocked writes the tail a non-waiting write left, waiting as long as it takes.
func (w *frameWriter) finishLocked() error {
	if len(w.rest) == 0 {
		return nil
	}
	_, err := w.nc.Write(w.rest)
	w.rest = nil
	return err
}

// control writes a whole control frame (a ping) now. Safe beside a frame that
// coder/websocket is in the middle of: only whole frames reach the socket, and the part of
// a frame held back here stays held, so the socket is always between two frames.
func (w *frameWriter) control(frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.finishLocked(); err != nil {
		return err
	}
	_, err := w.nc.Write(frame)
	return err
}

// text writes p as one unmasked, final text frame: header and payload in one writev.
// The hub's writer writes data frames here rather than through coder/websocket, whose
// per-frame locking (a channel lock, a select, a reset of its message writer) was a
// third of a busy node's CPU; coder/websocket still writes its control frames (pongs,
// close) through Write, and both paths produce whole frames under mu. After stop, data
// frames are refused: nothing may follow the close frame. A nil p writes only what a
// non-waiting write (tryText) left.
func (w *frameWriter) text(p []byte) error {
	var hdr [10]byte
	n := textHeader(&hdr, len(p))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return net.ErrClosed
	}
	if err := w.finishLocked(); err != nil || p == nil {
		return err
	}
	w.bufs = [2][]byte{hdr[:n], p}
	bufs := net.Buffers(w.bufs[:])
	_, err := bufs.WriteTo(w.nc)
	w.bufs = [2][]byte{}
	return err
}

// tryText is text without waiting for the socket. taken: p is the socket's, written whole
// or its unwritten tail copied to rest; more: the socket took everything, so another
// non-waiting write may follow. Otherwise the caller's goroutine must not wait here:
// it hands the connection to a writer goroutine, whose text writes the tail first.
func (w *frameWriter) tryText(p []byte) (taken, more bool, err error) {
	var hdr [10]byte
	n := textHeader(&hdr, len(p))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false, false, net.ErrClosed
	}
	if w.now == nil || len(w.rest) > 0 {
		return false, false, nil
	}
	w.bufs = [2][]byte{hdr[:n], p}
	written, err := w.now.writev(w.bufs[:])
	w.bufs = [2][]byte{}
	switch {
	case err != nil:
		return false, false, err
	case written == 0:
		return false, false, nil
	case written < n:
		w.rest = append(append(make([]byte, 0, n+len(p)-written), hdr[written:n]...), p...)
		return true, false, nil
	case written < n+len(p):
		w.rest = append([]byte(nil), p[written-n:]...)
		return true, false, nil
	}
	return true, true, nil
}

// textHeader puts the header of an unmasked, final text frame of size bytes in hdr and
// returns its length.
func textHeader(hdr *[10]byte, size int) int {
	hdr[0] = 0x81 // FIN, text
	switch {
	case size < 126:
		hdr[1] = byte(size)
		return 2
	case size <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(size))
		return 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(size))
		return 10
	}
}

// stop refuses data frames from now on; the connection is closing.
func (w *frameWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.finishLocked(); err != nil {
		return 0, err
	}
	n := len(p)
	done := w.complete(p) // bytes of held ++ p that make whole frames
	if done == 0 {
		w.keep(p)
		return n, nil
	}
	var err error
	if len(w.held) == 0 {
		_, err = w.nc.Write(p[:done])
		p = p[done:]
	} else {
		k := done - len(w.held)
		w.bufs = [2][]byte{w.held, p[:k]}
		bufs := net.Buffers(w.bufs[:])
		_, err = bufs.WriteTo(w.nc)
		w.bufs = [2][]byte{}
		w.held = nil
		p = p[k:]
	}
	if err != nil {
		return 0, err
	}
	w.keep(p)
	return n, nil
}

// keep holds b back until the rest of its frame arrives.
func (w *frameWriter) keep(b []byte) {
	if len(b) == 0 {
		return
	}
	if len(w.held) == 0 {
		w.held = w.hold[:0]
	}
	w.held = append(w.held, b...)
}

// complete returns how many leading bytes of held ++ p form whole frames.
func (w *frameWriter) complete(p []byte) int {
	total := len(w.held) + len(p)
	at := func(i int) byte {
		if i < len(w.held) {
			return w.held[i]
		}
		return p[i-len(w.held)]
	}
	off := 0
	for off+2 <= total {
		b1 := at(off + 1)
		head, size := 2, int(b1&0x7f)
		switch size {
		case 126:
			head = 4
		case 127:
			head = 10
		}
		if b1&0x80 != 0 {
			head += 4 // masking key (client frames; not written by a server, handled anyway)
		}
		if off+head > total {
			break
		}
		switch size {
		case 126:
			size = int(binary.BigEndian.Uint16([]byte{at(off + 2), at(off + 3)}))
		case 127:
			var b [8]byte
			for i := range b {
				b[i] = at(off + 2 + i)
			}
			size = int(binary.BigEndian.Uint64(b[:]))
		}
		if off+head+size > total {
			break
		}
		off += head + size
	}
	return off
}
