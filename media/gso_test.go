package media

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// directPair is a direct writer on a loopback socket with known keys, and the socket it
// sends to with a context that decrypts what arrives.
func directPair(t *testing.T) (*srtpOut, *net.UDPConn, *srtp.Context) {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	sock, peer := listen(), listen()
	key, salt := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 12)
	enc, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	o := newSRTPOut(sock)
	o.ctx = enc
	o.route(peer.LocalAddr().(*net.UDPAddr).AddrPort(), true)
	return o, peer, dec
}

// receive reads n datagrams and returns their decrypted payloads' first bytes.
func receive(t *testing.T, peer *net.UDPConn, dec *srtp.Context, n int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 65536)
	_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	for range n {
		k, err := peer.Read(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		var h rtp.Header
		plain, err := dec.DecryptRTP(nil, buf[:k], &h)
		if err != nil {
			t.Fatalf("datagram %d (%d bytes): %v", len(got), k, err)
		}
		got = append(got, plain[h.MarshalSize()])
	}
	_ = peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if k, err := peer.Read(buf); err == nil {
		t.Fatalf("an extra datagram of %d bytes", k)
	}
	return got
}

// TestDirectBatches: packets written to one connection are held until flush or until one
// does not fit, then sent in one call as segments the kernel splits into the original
// datagrams, each decrypting on its own, in the order written; with segmentation off they
// go one by one at once.
func TestDirectBatches(t *testing.T) {
	write := func(o *srtpOut, seq uint16, size int) {
		t.Helper()
		payload := bytes.Repeat([]byte{byte(seq)}, size)
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 1234}
		if _, ok, err := o.write(&h, payload); !ok || err != nil {
			t.Fatalf("write %d: %v %v", seq, ok, err)
		}
	}
	t.Run("segments", func(t *testing.T) {
		if !gsoOn.Load() {
			t.Skip("no segmentation offload on this platform")
		}
		o, peer, dec := directPair(t)
		for seq := uint16(1); seq <= 5; seq++ {
			write(o, seq, 1200)
		}
		write(o, 6, 700) // the frame's shorter last packet closes the batch
		write(o, 7, 1200)
		o.mu.Lock()
		waiting := o.gso != nil && o.gso.n == 1
		o.mu.Unlock()
		if !waiting {
			t.Fatal("packet 7 is not alone in a new batch")
		}
		o.flush()
		if got := receive(t, peer, dec, 7); !bytes.Equal(got, []byte{1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("received %v", got)
		}
		for seq := uint16(8); seq < 8+2*gsoMaxSegs+1; seq++ { // full batches go by themselves
			write(o, seq, 1000)
		}
		receive(t, peer, dec, 2*gsoMaxSegs)
		o.flush()
		receive(t, peer, dec, 1)
	})
	t.Run("off", func(t *testing.T) {
		was := gsoOn.Swap(false)
		t.Cleanup(func() { gsoOn.Store(was) })
		o, peer, dec := directPair(t)
		write(o, 1, 1200)
		write(o, 2, 1200)
		if got := receive(t, peer, dec, 2); !bytes.Equal(got, []byte{1, 2}) {
			t.Fatalf("received %v", got)
		}
	})
}

// TestSegmentFallback: a segmented send the kernel refuses (here: more segments than the 64 or
// 128 it takes) goes out one datagram per segment, and segmentation stays off after it.
func TestSegmentFallback(t *testing.T) {
	if !gsoOn.Load() {
		t.Skip("no segmentation offload on this platform")
	}
	t.Cleanup(func() { gsoOn.Store(true) })
	o, peer, _ := directPair(t)
	b := make([]byte, 200) // datagrams enough, not more than the receive buffer holds
	for i := range b {
		b[i] = byte(i)
	}
	if err := sendSegments(o.sock, b, 1, peer.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	if gsoOn.Load() {
		t.Fatal("segmentation still on after the kernel refused 200 segments")
	}
	buf := make([]byte, 16)
	_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i := range b {
		n, err := peer.Read(buf)
		if err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("datagram %d: %d bytes %v, %v", i, n, buf[:n], err)
		}
	}
}
