package media

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgs is a batch as sendmmsg takes it: messages, each with its address and the iovecs
// of its packets (one iovec per packet, made once with the batch).
//
// Consecutive packets to one address whose sizes allow it (all as large as the first but
// the last) go as one message segmented by the kernel (UDP generic segmentation offload,
// UDP_SEGMENT): a subscriber's share of a video frame costs one pass through the IP stack
// instead of one per packet. A kernel or device that refuses it (EIO without checksum
// offload, EINVAL on a kernel before 4.18) turns it off for the socket, and the refused
// message's packets are sent one by one.
type mmsgs struct {
	hdrs   [batchSize]unix.Mmsghdr
	iovs   [batchSize]unix.Iovec
	sa4    [batchSize]unix.RawSockaddrInet4
	sa6    [batchSize]unix.RawSockaddrInet6
	ctrl   [batchSize][4]uint64 // each message's UDP_SEGMENT control message (8-byte aligned)
	nmsg   int                  // messages made
	last   netip.AddrPort       // the address of the last message
	seg    int                  // the last message's segment size; 0 once it may not grow
	size   int                  // the last message's bytes
	off    int                  // messages sent so far
	sock   *udpSocket
	write  func(fd uintptr) bool // m.sendmmsg, bound once: a closure per call would allocate
	single unix.Msghdr           // one packet of a refused segmented message
}

// gsoMaxSegs and gsoMaxBytes bound a segmented message: kernels before 5.x take at most
// 64 segments, and none more than 64 KiB of datagram.
const (
	gsoMaxSegs  = 64
	gsoMaxBytes = 60000
)

// set adds packet i (the batch's next slot) for to.
func (m *mmsgs) set(i int, p []byte, to netip.AddrPort, sock *udpSocket) {
	m.iovs[i].Base = &p[0]
	m.iovs[i].SetLen(len(p))
	if m.nmsg > 0 && m.seg > 0 && to == m.last && len(p) <= m.seg && m.size+len(p) <= gsoMaxBytes && !sock.noGSO.Load() {
		h := &m.hdrs[m.nmsg-1].Hdr
		if h.Iovlen == 1 {
			m.segment(m.nmsg-1, m.seg)
		}
		h.Iovlen++
		m.size += len(p)
		if len(p) < m.seg || h.Iovlen == gsoMaxSegs {
			m.seg = 0 // only the last segment may be short
		}
		return
	}
	k := m.nmsg
	m.nmsg++
	m.last, m.seg, m.size = to, len(p), len(p)
	h := &m.hdrs[k].Hdr
	h.Iov = &m.iovs[i]
	h.SetIovlen(1)
	h.Control, h.Controllen = nil, 0
	addr := to.Addr()
	if addr.Is4() || addr.Is4In6() {
		sa := &m.sa4[k]
		sa.Family, sa.Addr = unix.AF_INET, addr.Unmap().As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		h.Name, h.Namelen = (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4
		return
	}
	sa := &m.sa6[k]
	sa.Family, sa.Addr = unix.AF_INET6, addr.As16()
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
	h.Name, h.Namelen = (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet6
}

// segment gives message k a UDP_SEGMENT control message: the kernel cuts its data into
// datagrams of size bytes.
func (m *mmsgs) segment(k, size int) {
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&m.ctrl[k])), len(m.ctrl[k])*8)
	c := (*unix.Cmsghdr)(unsafe.Pointer(&buf[0]))
	c.Level, c.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	c.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(buf[unix.CmsgLen(0):], uint16(size))
	h := &m.hdrs[k].Hdr
	h.Control = &buf[0]
	h.SetControllen(unix.CmsgSpace(2))
}

// messages is how many messages the batch's n packets make.
func (m *mmsgs) messages(int) int { return m.nmsg }

func (m *mmsgs) clear(n int) {
	for i := range n {
		m.iovs[i].Base = nil
	}
	m.nmsg, m.seg = 0, 0
}

// send writes the batch's messages with sendmmsg, entered as a raw system call: through
// the runtime's syscall path, a call of 64 packets (some 250 µs) let the scheduler hand
// the fan-out worker's processor to another thread, whose wake-up and parking cost more
// than the batching saved. The socket is non-blocking, so the call never waits; on EAGAIN
// the poller waits for room.
func (m *mmsgs) send(sock *udpSocket, _ int) {
	if m.write == nil {
		m.write = m.sendmmsg
	}
	m.off, m.sock = 0, sock
	_ = sock.raw.Write(m.write) // fails only once the socket is closed, with the engine
	m.sock = nil
}

func (m *mmsgs) sendmmsg(fd uintptr) bool {
	for m.off < m.nmsg {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&m.hdrs[m.off])), uintptr(m.nmsg-m.off), 0, 0, 0)
		switch {
		case e == unix.EINTR:
		case e == unix.EAGAIN:
			return false
		case e != 0: // this message refused; the rest go
			if h := &m.hdrs[m.off].Hdr; h.Iovlen > 1 {
				// EIO and EINVAL say segmentation is unsupported here; other errors are the packets'.
				if (e == unix.EIO || e == unix.EINVAL) && m.sock.noGSO.CompareAndSwap(false, true) {
					slog.Warn("media: the kernel refused a segmented UDP send; sending packets one by one", "err", e)
				}
				m.apart(fd, h)
			} else {
				dropsSend.Inc()
			}
			m.off++
		default:
			m.off += int(r)
		}
	}
	return true
}

// apart sends a refused segmented message's packets one by one.
func (m *mmsgs) apart(fd uintptr, h *unix.Msghdr) {
	m.single = *h
	m.single.Control, m.single.Controllen = nil, 0
	m.single.SetIovlen(1)
	iovs := unsafe.Slice(h.Iov, h.Iovlen)
	for k := range iovs {
		m.single.Iov = &iovs[k]
		for {
			_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&m.single)), 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				dropsSend.Inc()
			}
			break
		}
	}
}
