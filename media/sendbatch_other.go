//go:build !linux

package media

import "net/netip"

// mmsgs is a batch where there is no sendmmsg: its packets are written one by one.
type mmsgs struct {
	pkts [batchSize][]byte
	to   [batchSize]netip.AddrPort
}

func (m *mmsgs) set(i int, p []byte, to netip.AddrPort, _ *udpSocket) { m.pkts[i], m.to[i] = p, to }

func (m *mmsgs) clear(n int) { clear(m.pkts[:n]) }

// messages is how many messages the batch's n packets make: one each.
func (m *mmsgs) messages(n int) int { return n }

func (m *mmsgs) send(sock *udpSocket, n int) {
	for i := range n {
		if _, err := sock.udp.WriteToUDPAddrPort(m.pkts[i], m.to[i]); err != nil {
			dropsSend.Inc()
		}
	}
}
