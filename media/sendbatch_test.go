package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSendBatch: packets to several receivers leave in order across batch boundaries, and
// one the kernel refuses (an IPv6 destination on an IPv4 socket) is counted and skipped
// without losing those after it.
func TestSendBatch(t *testing.T) {
	conn, recv := loopbackSocket(t), loopbackReceivers(t)
	refused := netip.MustParseAddrPort("[::1]:9")
	const n = 3*batchSize + 5 // per receiver
	before := testutil.ToFloat64(dropsSend)

	b := sendBatches.Get().(*sendBatch)
	for k := range n {
		for i, r := range recv {
			enc := binary.BigEndian.AppendUint32(b.slot(conn), uint32(k))
			b.add(enc, r.LocalAddr().(*net.UDPAddr).AddrPort())
			if k == batchSize-1 && i == 0 { // the last of the second batch and the first of the third
				b.add(binary.BigEndian.AppendUint32(b.slot(conn), 1<<31), refused)
				b.add(binary.BigEndian.AppendUint32(b.slot(conn), 1<<31), refused)
			}
		}
	}
	b.flush()
	sendBatches.Put(b)

	for i, r := range recv {
		_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		for k := range n {
			m, err := r.Read(buf)
			if err != nil {
				t.Fatalf("receiver %d: packet %d: %v", i, k, err)
			}
			if got := binary.BigEndian.Uint32(buf[:m]); got != uint32(k) {
				t.Fatalf("receiver %d: packet %d reads %d", i, k, got)
			}
		}
	}
	if got := testutil.ToFloat64(dropsSend) - before; got != 2 {
		t.Fatalf("%v send errors counted, want 2", got)
	}
}

// TestSendBatchAllocs: filling and sending a batch allocates nothing, as it runs for
// every packet of every subscriber.
func TestSendBatchAllocs(t *testing.T) {
	conn := loopbackSocket(t)
	to := conn.udp.LocalAddr().(*net.UDPAddr).AddrPort() // to itself: nobody reads, the kernel drops
	b := sendBatches.Get().(*sendBatch)
	defer sendBatches.Put(b)
	payload := make([]byte, 1200)
	if n := testing.AllocsPerRun(20, func() {
		for range batchSize + 1 {
			b.add(append(b.slot(conn), payload...), to)
		}
		b.flush()
	}); n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
}

// loopbackSocket is a UDP socket on 127.0.0.1, closed with the test.
func loopbackSocket(t *testing.T) *udpSocket {
	t.Helper()
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sock.Close() })
	s, err := newUDPSocket(sock)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loopbackReceivers are two loopback sockets with room for a test's packets.
func loopbackReceivers(t *testing.T) [2]*net.UDPConn {
	t.Helper()
	var recv [2]*net.UDPConn
	for i := range recv {
		recv[i] = loopbackSocket(t).udp
		_ = recv[i].SetReadBuffer(1 << 20)
	}
	return recv
}
