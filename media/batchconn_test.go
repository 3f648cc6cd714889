package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// listenBatch opens a batchConn the way the engine does: on the unspecified address, so a
// dual-stack socket sends to IPv4 peers.
func listenBatch(t *testing.T) *batchConn {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	c := newBatchConn(udp)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func listenPeer(t *testing.T) (*net.UDPConn, netip.AddrPort) {
	t.Helper()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	_ = peer.SetReadBuffer(4 << 20)
	_ = peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	return peer, peer.LocalAddr().(*net.UDPAddr).AddrPort()
}

// More packets than a batch and than the queue, written faster than they can be sent,
// arrive complete and in order, from the socket's own port, and the writer's buffer may
// be reused as soon as the write returns.
func TestBatchConnKeepsOrder(t *testing.T) {
	c := listenBatch(t)
	peer, to := listenPeer(t)
	const n = 3 * sendQueue
	buf := make([]byte, 1000)
	for i := range n {
		binary.BigEndian.PutUint32(buf, uint32(i))
		if w, err := c.WriteToAddrPort(buf, to); err != nil || w != len(buf) {
			t.Fatalf("write %d: %d, %v", i, w, err)
		}
		clear(buf)
	}
	got := make([]byte, 1500)
	for i := range n {
		r, from, err := peer.ReadFromUDPAddrPort(got)
		if err != nil {
			t.Fatalf("after %d packets: %v", i, err)
		}
		if r != len(buf) || binary.BigEndian.Uint32(got) != uint32(i) {
			t.Fatalf("packet %d: %d bytes, number %d", i, r, binary.BigEndian.Uint32(got))
		}
		if from.Port() != uint16(c.LocalAddr().(*net.UDPAddr).Port) {
			t.Fatalf("packet %d from %v, want port %d", i, from, c.LocalAddr().(*net.UDPAddr).Port)
		}
	}
}

// A packet the kernel refuses is counted and dropped; the packets around it still go.
func TestBatchConnSkipsRefusedPacket(t *testing.T) {
	c := listenBatch(t)
	peer, to := listenPeer(t)
	before := testutil.ToFloat64(dropsSocket)
	_, _ = c.WriteToAddrPort([]byte("first"), to)
	// Port 0 is no destination: sendmmsg fails on this message alone.
	_, _ = c.WriteToAddrPort([]byte("nowhere"), netip.AddrPortFrom(to.Addr(), 0))
	_, _ = c.WriteTo([]byte("last"), net.UDPAddrFromAddrPort(to))
	got := make([]byte, 100)
	for _, want := range []string{"first", "last"} {
		r, err := peer.Read(got)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if string(got[:r]) != want {
			t.Fatalf("got %q, want %q", got[:r], want)
		}
	}
	if d := testutil.ToFloat64(dropsSocket) - before; d != 1 {
		t.Fatalf("socket drops counted %v, want 1", d)
	}
}

// Close sends what is queued first; a write after it is an error, not a silent loss.
func TestBatchConnCloseFlushesThenRefuses(t *testing.T) {
	c := listenBatch(t)
	peer, to := listenPeer(t)
	for range 100 {
		_, _ = c.WriteToAddrPort([]byte("queued"), to)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	for i := range 100 {
		if _, err := peer.Read(got); err != nil {
			t.Fatalf("packet %d of 100 queued before Close: %v", i, err)
		}
	}
	if _, err := c.WriteToAddrPort([]byte("late"), to); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
