package media

import (
	"net"
	"net/netip"
	"sync"

	"github.com/pion/interceptor"
	"golang.org/x/net/ipv4"
)

// Batched writes. A fan-out worker writes one packet to each of its share of the
// subscribers. On the benchmark machine a sendto cost about 5.6 µs of CPU per packet on
// loopback, a sendmmsg of 64 packets about 4 µs a packet. So the worker passes a batch
// down each subscriber's interceptor chain (as an attribute, the chain's way of carrying
// per-packet context), the direct writer at the bottom (srtpout.go) encrypts into the
// batch's next buffer, and the worker sends what gathered with one system call per
// batchSize packets once it has been through its share. Nothing is copied and no other
// goroutine is woken: a queue in front of the socket drained by a sending goroutine
// (BENCHMARKS.md, media round 4) spent the saving on both. Retransmissions, sender
// reports and packets from a subscriber's own queue are written one at a time.

// batchSize is how many packets one sendmmsg carries.
const batchSize = 64

// batchKey is the interceptor attribute under which a write carries its batch.
type batchKey struct{}

// sendBatch is packets encrypted and waiting for one socket write. A batch is used by
// one goroutine at a time.
type sendBatch struct {
	conn  *ipv4.PacketConn // the socket of what is waiting
	msgs  []ipv4.Message
	bufs  [batchSize][]byte
	iovs  [batchSize][1][]byte // each message's Buffers, so a message costs no allocation
	addrs [batchSize]net.UDPAddr
	ips   [batchSize][16]byte // addrs' IP backing, so an address costs no allocation
	attrs interceptor.Attributes
}

var sendBatches = sync.Pool{New: func() any {
	b := &sendBatch{msgs: make([]ipv4.Message, 0, batchSize)}
	for i := range b.bufs {
		b.bufs[i] = make([]byte, 0, 1536)
	}
	b.attrs = interceptor.Attributes{batchKey{}: b}
	return b
}}

// batchOf is the batch a write carries, if any.
func batchOf(a interceptor.Attributes) *sendBatch {
	if a == nil {
		return nil
	}
	b, _ := a[batchKey{}].(*sendBatch)
	return b
}

// slot is the buffer for the next packet to conn, making room first if the batch is full
// or holds another socket's packets.
func (b *sendBatch) slot(conn *ipv4.PacketConn) []byte {
	if len(b.msgs) == batchSize || (b.conn != conn && len(b.msgs) > 0) {
		b.flush()
	}
	b.conn = conn
	return b.bufs[len(b.msgs)][:0]
}

// add queues enc, written into the buffer slot returned, for to.
func (b *sendBatch) add(enc []byte, to netip.AddrPort) {
	i := len(b.msgs)
	b.ips[i] = to.Addr().As16()
	ip := b.ips[i][:]
	if to.Addr().Is4() {
		ip = b.ips[i][12:]
	}
	b.addrs[i] = net.UDPAddr{IP: ip, Port: int(to.Port()), Zone: to.Addr().Zone()}
	b.bufs[i] = enc[:0]
	b.iovs[i][0] = enc
	b.msgs = append(b.msgs, ipv4.Message{Buffers: b.iovs[i][:], Addr: &b.addrs[i]})
}

// flush sends what is waiting. A packet the kernel refuses (sendmmsg stops at the first
// error) is counted and skipped, and the rest are sent.
func (b *sendBatch) flush() {
	msgs := b.msgs
	for len(msgs) > 0 {
		n, err := b.conn.WriteBatch(msgs, 0)
		msgs = msgs[max(n, 0):] // -1 with an error
		if err != nil && len(msgs) > 0 {
			dropsSend.Inc()
			msgs = msgs[1:]
		}
	}
	for i := range b.msgs {
		b.msgs[i] = ipv4.Message{}
	}
	b.msgs = b.msgs[:0]
}

// writeBatched writes p through the subscriber's interceptor chain with b, so a direct
// connection's packet waits in b; it returns the bytes written or batched.
func (d *downTrack) writeBatched(p *outPacket, b *sendBatch) int {
	if p.chain == nil {
		return d.write(p)
	}
	p.stampAbsSend()
	n, err := p.chain.Write(&p.hdr, p.payload, b.attrs)
	release(p)
	if err != nil {
		return 0
	}
	return n
}

// chainFactory records, outermost in each peer connection's interceptor chain, the whole
// chain's writer for each local stream, which the fan-out writes through with a batch:
// Pion's own track writer passes no attributes. Like directFactory, whose next it reads,
// it relies on connections being made one at a time (engine.newPeerConnection).
type chainFactory struct{ direct *directFactory }

func (f *chainFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &chainInterceptor{out: f.direct.next}, nil
}

type chainInterceptor struct {
	interceptor.NoOp
	out *srtpOut
}

func (i *chainInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if i.out != nil {
		i.out.setChain(info.SSRC, w)
	}
	return w
}

func (i *chainInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) {
	if i.out != nil {
		i.out.setChain(info.SSRC, nil)
	}
}

// setChain records (or, with nil, forgets) the chain writer of a stream.
func (o *srtpOut) setChain(ssrc uint32, w interceptor.RTPWriter) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if w == nil {
		delete(o.chains, ssrc)
		return
	}
	if o.chains == nil {
		o.chains = make(map[uint32]interceptor.RTPWriter)
	}
	o.chains[ssrc] = w
}

// chain is the chain writer of a stream, nil if not bound.
func (o *srtpOut) chain(ssrc uint32) interceptor.RTPWriter {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.chains[ssrc]
}
