package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
)

// udpSegment is the UDP_SEGMENT socket option (linux/udp.h), at level IPPROTO_UDP.
const udpSegment = 103

// gsoOn is cleared, for good, the first time the kernel refuses a segmented send.
var gsoOn atomic.Bool

func init() { gsoOn.Store(true) }

// sendSegments sends b as segments of seg bytes (the last may be shorter) in one call. If
// the kernel cannot (too old, or a device without checksum offload) it sends them one by
// one and turns batching off.
func sendSegments(sock *net.UDPConn, b []byte, seg int, to netip.AddrPort) error {
	var oob [32]byte
	n := segmentControl(oob[:], seg)
	_, _, err := sock.WriteMsgUDPAddrPort(b, oob[:n], to)
	if err == nil || !gsoRefused(err) {
		return err
	}
	gsoOn.Store(false)
	for len(b) > 0 {
		k := min(seg, len(b))
		if _, err := sock.WriteToUDPAddrPort(b[:k], to); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

// segmentControl writes the UDP_SEGMENT control message into oob and returns its length:
// a cmsghdr (its length field is the word size) and the segment size.
func segmentControl(oob []byte, seg int) int {
	lenSize := syscall.SizeofCmsghdr - 8
	if lenSize == 8 {
		binary.NativeEndian.PutUint64(oob, uint64(syscall.CmsgLen(2)))
	} else {
		binary.NativeEndian.PutUint32(oob, uint32(syscall.CmsgLen(2)))
	}
	binary.NativeEndian.PutUint32(oob[lenSize:], syscall.IPPROTO_UDP)
	binary.NativeEndian.PutUint32(oob[lenSize+4:], udpSegment)
	binary.NativeEndian.PutUint16(oob[syscall.SizeofCmsghdr:], uint16(seg))
	return syscall.CmsgSpace(2)
}

func gsoRefused(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOPROTOOPT) || errors.Is(err, syscall.EOPNOTSUPP)
}
