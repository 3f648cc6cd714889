//go:build linux

package hub

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// An idle member's connection costs mostly its reader goroutine: coder/websocket reads
// with a blocking call, so every connection keeps a goroutine (and its 4 KiB stack) parked
// in Read even when it has nothing to say. Between commands, a reader whose buffer is
// empty leaves instead: the connection's socket is armed, one-shot, in an epoll set that
// one process-wide goroutine waits on, and the reader starts again when bytes arrive.
//
// Pongs are the one frame an idle connection receives regularly (the server pings every
// PingInterval). Starting a reader for a pong would leave it blocked until the member's
// next command, so the poller consumes a pong itself, straight off the socket, and
// re-arms; pingOnce counts it like any other pong.

var (
	pollerOnce sync.Once
	thePoller  *poller
)

type poller struct {
	epfd  int
	file  *os.File // owns epfd; kept so that no finalizer closes it
	mu    sync.Mutex
	conns map[int32]*conn // poll id → connection, while registered
	next  int32
}

// sharedPoller returns the process's poller, or nil when epoll is not available (the
// readers then never park).
func sharedPoller() *poller {
	pollerOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			slog.Warn("idle connections keep their readers: epoll unavailable", "err", err)
			return
		}
		// The epoll set is itself waited on by Go's netpoller: a goroutine blocked in
		// epoll_wait would hold a thread, and when it returned on a busy node it would queue
		// for a processor behind the fan-out work, delaying every parked member's command.
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			slog.Warn("idle connections keep their readers: epoll set", "err", err)
			return
		}
		f := os.NewFile(uintptr(fd), "haven-poller")
		rc, err := f.SyscallConn()
		if err != nil {
			slog.Warn("idle connections keep their readers: epoll set", "err", err)
			return
		}
		thePoller = &poller{epfd: fd, file: f, conns: make(map[int32]*conn)}
		go thePoller.loop(rc)
	})
	return thePoller
}

// socketFD returns the descriptor of a plain TCP connection, or -1. TLS connections are not
// parked: their records are decrypted into a buffer the socket's readiness does not show.
func socketFD(nc net.Conn) int {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return -1
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := raw.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1
	}
	return fd
}

const armEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// arm registers c's socket for one wake-up. The caller holds c.mu and has checked that c is
// not closed, so c.fd is still c's socket.
func (p *poller) arm(c *conn) error {
	if c.pollID == 0 {
		p.mu.Lock()
		for {
			p.next++
			if p.next > 0 && p.conns[p.next] == nil {
				break
			}
			if p.next < 0 {
				p.next = 0
			}
		}
		c.pollID = p.next
		p.conns[c.pollID] = c
		p.mu.Unlock()
	}
	ev := unix.EpollEvent{Events: armEvents, Fd: c.pollID}
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
	if errors.Is(err, unix.ENOENT) {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev)
	}
	if err != nil {
		return fmt.Errorf("arm socket %d: %w", c.fd, err)
	}
	return nil
}

// forget drops c from the poller. Its socket leaves the epoll set by itself when closed.
func (p *poller) forget(c *conn) {
	if c.pollID == 0 {
		return
	}
	p.mu.Lock()
	if p.conns[c.pollID] == c {
		delete(p.conns, c.pollID)
	}
	p.mu.Unlock()
}

func (p *poller) loop(rc syscall.RawConn) {
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := rc.Read(func(fd uintptr) bool {
			n, werr = unix.EpollWait(int(fd), events, 0)
			if errors.Is(werr, unix.EINTR) {
				n, werr = 0, nil
			}
			return n > 0 || werr != nil // nothing ready: the netpoller waits for the set
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			slog.Error("connection poller stopped; parked readers wake only when closed", "err", err)
			return
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c != nil {
				c.wake(ev.Events&(unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) == 0)
			}
		}
	}
}

// wake restarts c's reader, unless all that arrived was a pong (consumed here) and the
// socket could be armed again.
func (c *conn) wake(readable bool) {
	c.mu.Lock()
	if !c.parked {
		c.mu.Unlock()
		return
	}
	if readable && c.takePong() && thePoller.arm(c) == nil {
		c.mu.Unlock()
		return
	}
	c.parked = false
	*c.br = *bufio.NewReaderSize(c.nc, connReadBuffer)
	c.mu.Unlock()
	go c.readLoop()
}

// takePong reads one pong frame off c's socket when it is the only thing waiting there, and
// reports whether it did. Client frames are masked: 0x8A, 0x80|length, 4 mask bytes, then
// the payload (at most 125 bytes). Called with c.mu held, while no reader runs.
func (c *conn) takePong() bool {
	var buf [136]byte
	n, _, err := unix.Recvfrom(c.fd, buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	if err != nil || n < 6 || buf[0] != 0x8A || buf[1]&0x80 == 0 {
		return false
	}
	size := 6 + int(buf[1]&0x7F)
	if buf[1]&0x7F > 125 || n != size {
		return false // a longer frame, or more behind it: the reader's job
	}
	if got, _, err := unix.Recvfrom(c.fd, buf[:size], unix.MSG_DONTWAIT); err != nil || got != size {
		return false
	}
	c.pongs++
	return true
}
