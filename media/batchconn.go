package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
)

// batchConn is the ICE UDP socket with its outgoing packets sent several to a system
// call (sendmmsg). At a few hundred subscribers the fan-out writes tens of thousands of
// packets a second, one sendto each, and entering and leaving the kernel was about a
// sixth of their cost. A writer copies its packet into a queue and returns; one goroutine
// sends whatever has gathered since its last system call, so a lone packet goes out at
// once and batches grow with the load. The queue is first in, first out, so each
// subscriber's packets leave in the order they were written.
//
// Reads, and everything else, go straight to the socket.
type batchConn struct {
	*net.UDPConn
	batch *ipv4.PacketConn

	mu     sync.Mutex
	ready  sync.Cond // the sender waits here for packets
	room   sync.Cond // writers wait here while the queue is full
	q      []datagram
	idle   bool // the sender is waiting on ready
	closed bool
	done   chan struct{}
	once   sync.Once
}

// datagram is one queued packet. Its buffer is kept when the queue is reused.
type datagram struct {
	buf []byte
	to  netip.AddrPort
}

// sendQueue is how many packets may wait for the sender before writers wait: a few
// batches, a few milliseconds of the fan-out at its busiest.
const sendQueue = 1024

// sendBatch caps the packets handed to one system call.
const sendBatch = 128

func newBatchConn(udp *net.UDPConn) *batchConn {
	c := &batchConn{UDPConn: udp, batch: ipv4.NewPacketConn(udp), done: make(chan struct{})}
	c.ready.L = &c.mu
	c.room.L = &c.mu
	go c.sendLoop()
	return c
}

// WriteToAddrPort queues b for to. It waits only while the queue is full, and reports an
// error only once the connection is closed.
func (c *batchConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	c.mu.Lock()
	for len(c.q) >= sendQueue && !c.closed {
		c.room.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if len(c.q) < cap(c.q) {
		c.q = c.q[:len(c.q)+1]
	} else {
		c.q = append(c.q, datagram{})
	}
	p := &c.q[len(c.q)-1]
	p.buf = append(p.buf[:0], b...)
	p.to = to
	if c.idle {
		c.idle = false
		c.ready.Signal()
	}
	c.mu.Unlock()
	return len(b), nil
}

// WriteTo queues b like WriteToAddrPort, so that packets written either way keep their
// order.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: errors.New("not a UDP address")}
	}
	return c.WriteToAddrPort(b, ua.AddrPort())
}

// ReadFromAddrPort is the socket's, named here because Pion's ICE only uses the
// allocation-free methods of a connection that declares both.
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

// sendLoop takes the whole queue at a time, leaving writers an empty one to fill while
// it sends, until the connection is closed and nothing is left to send.
func (c *batchConn) sendLoop() {
	defer close(c.done)
	var (
		sending []datagram
		msgs    []ipv4.Message
		addrs   []net.UDPAddr
	)
	for {
		c.mu.Lock()
		for len(c.q) == 0 && !c.closed {
			c.idle = true
			c.ready.Wait()
		}
		if len(c.q) == 0 {
			c.mu.Unlock()
			return
		}
		c.q, sending = sending[:0], c.q
		c.room.Broadcast()
		c.mu.Unlock()

		for len(msgs) < len(sending) {
			msgs = append(msgs, ipv4.Message{Buffers: make([][]byte, 1)})
			addrs = append(addrs, net.UDPAddr{IP: make(net.IP, 0, net.IPv6len)})
		}
		for i := range sending {
			a := &addrs[i]
			ip := sending[i].to.Addr()
			if ip.Is4() {
				b := ip.As4()
				a.IP = append(a.IP[:0], b[:]...)
			} else {
				b := ip.As16()
				a.IP = append(a.IP[:0], b[:]...)
			}
			a.Port = int(sending[i].to.Port())
			msgs[i].Buffers[0] = sending[i].buf
			msgs[i].Addr = a
		}
		c.send(msgs[:len(sending)])
	}
}

// send hands ms to the kernel a batch at a time. A packet the kernel refuses (an
// unreachable address) is counted and skipped; the rest still go.
func (c *batchConn) send(ms []ipv4.Message) {
	for len(ms) > 0 {
		n, err := c.batch.WriteBatch(ms[:min(len(ms), sendBatch)], 0)
		if err == nil && n > 0 {
			ms = ms[n:]
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			dropsSocket.Add(float64(len(ms)))
			return
		}
		// ms[n] failed: skip it, keep the rest. (A failure of the first reports n = -1.)
		dropsSocket.Inc()
		ms = ms[max(n, 0)+1:]
	}
}

// Close sends what is queued, then closes the socket. It may be called more than once.
func (c *batchConn) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.ready.Broadcast()
		c.room.Broadcast()
		c.mu.Unlock()
		<-c.done
		err = c.UDPConn.Close()
	})
	return err
}
