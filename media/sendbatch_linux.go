package media

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgs is a batch as sendmmsg takes it: a header, an iovec and an address per packet,
// made once with the batch.
type mmsgs struct {
	hdrs   [batchSize]unix.Mmsghdr
	iovs   [batchSize]unix.Iovec
	sa4    [batchSize]unix.RawSockaddrInet4
	sa6    [batchSize]unix.RawSockaddrInet6
	off, n int                   // sent so far, to send
	write  func(fd uintptr) bool // m.sendmmsg, bound once: a closure per call would allocate
}

func (m *mmsgs) set(i int, p []byte, to netip.AddrPort) {
	h := &m.hdrs[i].Hdr
	m.iovs[i].Base = &p[0]
	m.iovs[i].SetLen(len(p))
	h.Iov = &m.iovs[i]
	h.SetIovlen(1)
	addr := to.Addr()
	if addr.Is4() || addr.Is4In6() {
		sa := &m.sa4[i]
		sa.Family, sa.Addr = unix.AF_INET, addr.Unmap().As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		h.Name, h.Namelen = (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4
		return
	}
	sa := &m.sa6[i]
	sa.Family, sa.Addr = unix.AF_INET6, addr.As16()
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
	h.Name, h.Namelen = (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet6
}

func (m *mmsgs) clear(n int) {
	for i := range n {
		m.iovs[i].Base = nil
	}
}

// send writes n packets with sendmmsg, entered as a raw system call: through the runtime's
// syscall path, a call of 64 packets (some 250 µs) let the scheduler hand the fan-out
// worker's processor to another thread, whose wake-up and parking cost more than the
// batching saved. The socket is non-blocking, so the call never waits; on EAGAIN the
// poller waits for room.
func (m *mmsgs) send(sock *udpSocket, n int) {
	if m.write == nil {
		m.write = m.sendmmsg
	}
	m.off, m.n = 0, n
	_ = sock.raw.Write(m.write) // fails only once the socket is closed, with the engine
}

func (m *mmsgs) sendmmsg(fd uintptr) bool {
	for m.off < m.n {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&m.hdrs[m.off])), uintptr(m.n-m.off), 0, 0, 0)
		switch {
		case e == unix.EINTR:
		case e == unix.EAGAIN:
			return false
		case e != 0: // this packet refused; the rest go
			dropsSend.Inc()
			m.off++
		default:
			m.off += int(r)
		}
	}
	return true
}
