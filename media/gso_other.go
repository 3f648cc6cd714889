//go:build !linux

package media

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// gsoOn stays false: segmentation offload is Linux's.
var gsoOn atomic.Bool

func sendSegments(sock *net.UDPConn, b []byte, seg int, to netip.AddrPort) error {
	for len(b) > 0 {
		k := min(seg, len(b))
		if _, err := sock.WriteToUDPAddrPort(b[:k], to); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}
