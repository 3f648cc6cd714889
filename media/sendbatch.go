package media

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/pion/interceptor"
)

// Batched writes. A fan-out worker writes one packet to each of its share of the
// subscribers. On the benchmark machine a sendto cost about 5.6 µs of CPU per packet on
// loopback, a sendmmsg of 64 packets about 4 µs a packet. So the worker passes a batch
// down each subscriber's interceptor chain (as an attribute, the chain's way of carrying
// per-packet context), the direct writer at the bottom (srtpout.go) encrypts into the
// batch's next buffer, and the worker sends what gathered with one system call per
// batchSize packets once it has been through its share. Nothing is copied and no other
// goroutine is woken: a queue in front of the socket drained by a sending goroutine
// (BENCHMARKS.md, media round 4) spent the saving on both. The call is a raw one on Linux
// (sendbatch_linux.go), and joins consecutive packets to one subscriber into one
// segmented message (UDP GSO) where their sizes allow. Retransmissions, sender reports and
// packets from a subscriber's own queue are written one at a time.

// batchSize is how many packets one sendmmsg carries.
const batchSize = 64

// udpSocket is the engine's ICE UDP socket as the direct path writes to it.
type udpSocket struct {
	udp   *net.UDPConn
	raw   syscall.RawConn // for sendmmsg (sendbatch_linux.go)
	noGSO atomic.Bool     // the kernel refused a segmented send (sendbatch_linux.go)
}

func newUDPSocket(udp *net.UDPConn) (*udpSocket, error) {
	raw, err := udp.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &udpSocket{udp: udp, raw: raw}, nil
}

// batchKey is the interceptor attribute under which a write carries its batch.
type batchKey struct{}

// sendBatch is packets encrypted and waiting for one socket write. A batch is used by
// one goroutine at a time.
type sendBatch struct {
	sock  *udpSocket // the socket of what is waiting
	n     int        // packets waiting
	bufs  [batchSize][]byte
	msgs  mmsgs // how the system call takes them (sendbatch_linux.go)
	attrs interceptor.Attributes
}

var sendBatches = sync.Pool{New: func() any {
	b := &sendBatch{}
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

// slot is the buffer for the next packet to sock, making room first if the batch is full
// or holds another socket's packets.
func (b *sendBatch) slot(sock *udpSocket) []byte {
	if b.n == batchSize || (b.sock != sock && b.n > 0) {
		b.flush()
	}
	b.sock = sock
	return b.bufs[b.n][:0]
}

// add queues enc, written into the buffer slot returned, for to.
func (b *sendBatch) add(enc []byte, to netip.AddrPort) {
	b.bufs[b.n] = enc[:0]
	b.msgs.set(b.n, enc, to, b.sock)
	b.n++
}

// flush sends what is waiting. A packet the kernel refuses (sendmmsg stops at the first
// error) is counted and skipped, and the rest are sent.
func (b *sendBatch) flush() {
	if b.n > 0 {
		batchedPackets.Add(float64(b.n))
		batchedMessages.Add(float64(b.msgs.messages(b.n)))
		b.msgs.send(b.sock, b.n)
	}
	b.msgs.clear(b.n)
	b.n = 0
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
