//go:build linux

package hub

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nowWriter writes to a TCP socket without waiting for room in its send buffer: a room's
// flush writes its members' frames itself, one after another, and only a member whose
// socket is full gets a goroutine. The callback is made once per connection so that a
// write does not allocate one. The write is a raw sendmsg: on a non-blocking socket it
// never waits, and a wave of thousands of them through the runtime's syscall path let
// sysmon hand the flushing goroutine's processor to other threads mid-wave (as with the
// media fan-out's sendmmsg, media/sendbatch_linux.go). sendmsg rather than writev: it goes
// to the socket without the file layer (position lock, access checks, change
// notification), which took about half of the kernel's entry cost in a wave to 5,000
// members.
type nowWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	iov [][]byte
	n   int
	err error
}

func newNowWriter(nc net.Conn) *nowWriter {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil // TLS or a test pipe: every write waits, on the writer goroutine
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &nowWriter{rc: rc}
	w.fn = func(fd uintptr) bool {
		// A frame's header and payload (frameWriter.tryText). Buffers past the second would
		// count as not yet written, which every caller handles as a partial write.
		var vecs [2]unix.Iovec
		k := 0
		for _, b := range w.iov {
			if len(b) > 0 && k < len(vecs) {
				vecs[k].Base = &b[0]
				vecs[k].SetLen(len(b))
				k++
			}
		}
		var msg unix.Msghdr
		msg.Iov = &vecs[0]
		msg.SetIovlen(k)
		for {
			r, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
			w.n, w.err = int(r), nil
			if e != 0 {
				w.n, w.err = -1, e
			}
			if e != unix.EINTR {
				return true // done, or would block: either way, do not wait
			}
		}
	}
	return w
}

// writev writes what the socket takes now and returns how many bytes that was.
func (w *nowWriter) writev(iov [][]byte) (int, error) {
	w.iov = iov
	err := w.rc.Write(w.fn)
	n, werr := max(w.n, 0), w.err
	w.iov, w.err = nil, nil
	switch {
	case err != nil:
		return 0, err
	case werr == unix.EAGAIN:
		return 0, nil
	}
	return n, werr
}
