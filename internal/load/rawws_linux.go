//go:build linux

package load

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"
)

// The load tool shares the machine with the server it measures, so what it spends per frame
// is taken from the server. Read through coder/websocket, with a goroutine per connection,
// a frame costs two reads (the second finds the socket empty and parks the goroutine), a
// wake-up through the runtime's poller, a goroutine switch and coder/websocket's per-frame
// locking: at 150,000 deliveries/s to 5,000 members the tool took 45 % of two cores, as much
// as the server. Here a few goroutines (one per processor) each wait on an epoll set of
// their own and read a ready socket once, straight into a shared buffer; the frames are
// parsed in place. The sockets are kept out of the runtime's poller, so nothing else wakes
// for them.

const (
	rawAvailable  = true
	defaultReader = "epoll"
	rawReadBuf    = 256 << 10 // one read's worth; a larger frame is gathered over reads
)

// rawReaders are the process's epoll readers, started on first use.
var rawReaders struct {
	once sync.Once
	ws   []*rawWorker
	err  error
	next atomic.Uint32
}

// rawWorker is one reader goroutine and its epoll set.
type rawWorker struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]*rawConn // by socket
	buf   []byte
	f     fields
}

// rawConn is a connection served by a rawWorker. The worker alone reads it and closes its
// socket; writes come from any goroutine under wmu.
type rawConn struct {
	c  *conn
	fd int

	wmu    sync.Mutex
	closed bool // the socket is closed (guarded by wmu): writes must not touch fd

	rx        []byte // the start of a frame that the last read did not finish
	msg       []byte // a fragmented message so far
	inMsg     bool
	closeSent atomic.Bool
}

func rawWorkers() ([]*rawWorker, error) {
	rawReaders.once.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
			if err != nil {
				rawReaders.err = fmt.Errorf("epoll: %w", err)
				return
			}
			w := &rawWorker{epfd: fd, conns: make(map[int32]*rawConn), buf: make([]byte, rawReadBuf)}
			rawReaders.ws = append(rawReaders.ws, w)
			go w.run()
		}
	})
	return rawReaders.ws, rawReaders.err
}

// dialRaw opens c's WebSocket to base (http://) and hands its socket to an epoll reader.
func dialRaw(ctx context.Context, c *conn, base, token string) error {
	ws, err := rawWorkers()
	if err != nil {
		return fmt.Errorf("dial /ws: %w", err)
	}
	fd, pre, err := handshake(ctx, base, token)
	if err != nil {
		return fmt.Errorf("dial /ws: %w", err)
	}
	w := ws[rawReaders.next.Add(1)%uint32(len(ws))]
	rc := &rawConn{c: c, fd: fd}
	c.tx = rc
	if len(pre) > 0 { // bytes that came with the handshake's reply; nothing reads rc yet
		if err := rc.consume(pre, time.Now().UnixNano(), &fields{}); err != nil {
			rc.finish(err)
			return fmt.Errorf("dial /ws: %w", err)
		}
	}
	w.mu.Lock()
	w.conns[int32(fd)] = rc
	w.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		w.mu.Lock()
		delete(w.conns, int32(fd))
		w.mu.Unlock()
		rc.finish(err)
		return fmt.Errorf("dial /ws: epoll: %w", err)
	}
	return nil
}

func (w *rawWorker) run() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(w.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			slog.Error("haven-load: epoll reader stopped", "err", err)
			return
		}
		for _, ev := range events[:n] {
			w.mu.Lock()
			rc := w.conns[ev.Fd]
			w.mu.Unlock()
			if rc != nil {
				w.serve(rc)
			}
		}
	}
}

// serve reads rc once (level-triggered: what is left is reported again) and handles every
// whole frame read.
func (w *rawWorker) serve(rc *rawConn) {
	n, err := unix.Read(rc.fd, w.buf)
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		w.drop(rc, fmt.Errorf("read: %w", err))
		return
	case n == 0:
		w.drop(rc, fmt.Errorf("read: %w", io.EOF))
		return
	}
	if err := rc.consume(w.buf[:n], time.Now().UnixNano(), &w.f); err != nil {
		w.drop(rc, err)
	}
}

// consume handles the bytes of one read, received at now, after whatever the last read
// left unfinished, and keeps what this one leaves.
func (rc *rawConn) consume(data []byte, now int64, f *fields) error {
	if len(rc.rx) > 0 {
		rc.rx = append(rc.rx, data...)
		data = rc.rx
	}
	rest, err := rc.frames(data, now, f)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		rc.rx = append(rc.rx[:0], rest...) // copy moves overlapping bytes safely
	case cap(rc.rx) > 64<<10: // do not keep a rare huge join reply around
		rc.rx = nil
	default:
		rc.rx = rc.rx[:0]
	}
	return nil
}

// drop ends rc: out of the epoll set, socket closed, pending commands failed.
func (w *rawWorker) drop(rc *rawConn, err error) {
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, rc.fd, nil)
	w.mu.Lock()
	delete(w.conns, int32(rc.fd))
	w.mu.Unlock()
	rc.finish(err)
}

// finish ends rc once it is out of (or never was in) an epoll set: socket closed, pending
// commands failed with err, waiters released.
func (rc *rawConn) finish(err error) {
	rc.closeSocket()
	rc.c.end(err)
	close(rc.c.done)
}

func (rc *rawConn) closeSocket() {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	if !rc.closed {
		rc.closed = true
		_ = unix.Close(rc.fd)
	}
}

var errRawProtocol = errors.New("websocket protocol error")

// frames handles the whole frames at the start of data and returns the incomplete rest. A
// close frame ends the connection: frames returns a websocket.CloseError.
func (rc *rawConn) frames(data []byte, now int64, f *fields) ([]byte, error) {
	for len(data) >= 2 {
		b0, b1 := data[0], data[1]
		if b1&0x80 != 0 || b0&0x70 != 0 {
			return nil, fmt.Errorf("%w: masked or extended server frame", errRawProtocol)
		}
		n, h := uint64(b1&0x7f), 2
		switch n {
		case 126:
			if len(data) < 4 {
				return data, nil
			}
			n, h = uint64(binary.BigEndian.Uint16(data[2:])), 4
		case 127:
			if len(data) < 10 {
				return data, nil
			}
			n, h = binary.BigEndian.Uint64(data[2:]), 10
		}
		if n > readLimit {
			return nil, fmt.Errorf("%w: frame of %d bytes, over the %d limit", errRawProtocol, n, readLimit)
		}
		if uint64(len(data)-h) < n {
			return data, nil
		}
		payload := data[h : h+int(n)]
		data = data[h+int(n):]
		fin, op := b0&0x80 != 0, b0&0x0f
		switch op {
		case 0x1, 0x2: // text, binary
			if rc.inMsg {
				return nil, fmt.Errorf("%w: new message inside a fragmented one", errRawProtocol)
			}
			if fin {
				rc.c.deliver(payload, now, f)
			} else {
				rc.msg, rc.inMsg = append(rc.msg[:0], payload...), true
			}
		case 0x0: // continuation
			if !rc.inMsg {
				return nil, fmt.Errorf("%w: continuation without a message", errRawProtocol)
			}
			if len(rc.msg)+len(payload) > readLimit {
				return nil, fmt.Errorf("%w: message over the %d limit", errRawProtocol, readLimit)
			}
			rc.msg = append(rc.msg, payload...)
			if fin {
				rc.c.deliver(rc.msg, now, f)
				rc.msg, rc.inMsg = nil, false
			}
		case 0x8: // close: answer it (unless we began it) and end
			ce := websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
			if len(payload) >= 2 {
				ce.Code = websocket.StatusCode(binary.BigEndian.Uint16(payload))
				ce.Reason = string(payload[2:])
			}
			if !rc.closeSent.Swap(true) {
				_ = rc.writeFrame(context.Background(), 0x8, payload[:min(len(payload), 2)])
			}
			return nil, ce
		case 0x9: // ping
			if err := rc.writeFrame(context.Background(), 0xA, payload); err != nil {
				return nil, fmt.Errorf("pong: %w", err)
			}
		case 0xA: // pong
		default:
			return nil, fmt.Errorf("%w: opcode %d", errRawProtocol, op)
		}
	}
	return data, nil
}

// appendHeader appends a frame header: first byte b0, the mask bit (0x80 or 0) and the
// payload length n in the shortest of the three forms.
func appendHeader(dst []byte, b0, mask byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, b0, mask|byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, b0, mask|126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, b0, mask|127), uint64(n))
	}
}

func (rc *rawConn) write(ctx context.Context, msg []byte) error {
	return rc.writeFrame(ctx, 0x1, msg)
}

// writeFrame writes one final, masked frame (clients must mask) in a single write, waiting
// for room in the socket's buffer if need be.
func (rc *rawConn) writeFrame(ctx context.Context, op byte, payload []byte) error {
	frame := appendHeader(make([]byte, 0, 14+len(payload)), 0x80|op, 0x80, len(payload))
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	frame = append(frame, key[:]...)
	start := len(frame)
	frame = append(frame, payload...)
	for i := range payload {
		frame[start+i] ^= key[i&3]
	}
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	for len(frame) > 0 {
		if rc.closed {
			return fmt.Errorf("write: %w", net.ErrClosed)
		}
		n, err := unix.Write(rc.fd, frame)
		switch {
		case err == nil:
			frame = frame[n:]
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("write: %w", context.DeadlineExceeded)
			}
			pfd := []unix.PollFd{{Fd: int32(rc.fd), Events: unix.POLLOUT}}
			_, _ = unix.Poll(pfd, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		default:
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// close starts the closing handshake and waits for the server's answer; a server that does
// not answer in 5 s has its socket shut.
func (rc *rawConn) close() {
	if !rc.closeSent.Swap(true) {
		_ = rc.writeFrame(context.Background(), 0x8, []byte{0x03, 0xe8}) // 1000, normal closure
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-rc.c.done:
		return
	case <-t.C:
	}
	rc.wmu.Lock()
	if !rc.closed {
		_ = unix.Shutdown(rc.fd, unix.SHUT_RDWR) // the reader sees the end and drops it
	}
	rc.wmu.Unlock()
	t.Reset(5 * time.Second)
	select {
	case <-rc.c.done:
	case <-t.C: // the reader is gone (its epoll set failed); nothing more to wait for
	}
}
