package media

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Direct SRTP. Below the interceptors, Pion's write path for one packet runs through its
// SRTP session, the DTLS/SRTP demultiplexer, the ICE connection and the UDP mux before the
// socket: about a third of the server's CPU when forwarding to hundreds of subscribers,
// more than SRTP itself. A connection reached over UDP has one destination, so its RTP is
// encrypted here with the connection's own keys and written straight to the ICE UDP
// socket; the interceptors above (transport-wide sequence numbers, GCC) see every packet
// as before. Everything else — RTCP, ICE, DTLS, and RTP to connections
// over TCP — stays with Pion.
//
// pion/webrtc does not hand out a connection's SRTP keys, so they are derived the way
// Pion derives them (RFC 5764, the RFC 5705 exporter over the DTLS master secret): the
// master secret and client random come from the DTLS key log, the server random, cipher
// suite and SRTP profile from the server's hello. Both are per-connection hooks of the
// connection's own setting engine (engine.newPeerConnection), so nothing is matched up
// between connections. The server random is only known where we are the DTLS server:
// browsers and Pion answer our offers as DTLS client, and we answer theirs as DTLS server
// (engine.go). Where a client takes the server role all the same, or the suite or profile
// is one we do not know, the connection keeps Pion's path (counted in
// haven_media_connections_total{path="pion"}).

// srtpOut is one peer connection's direct RTP writer.
type srtpOut struct {
	sock *udpSocket
	to   atomic.Pointer[netip.AddrPort] // the selected pair's remote address; nil unless UDP

	mu      sync.Mutex // guards everything below; taken per packet (the context is not safe for concurrent use)
	ctx     *srtp.Context
	random  []byte // server random, from our ServerHello
	hash    prf.HashFunc
	profile srtp.ProtectionProfile
	sent    uint64                           // packets written directly
	batched uint64                           // of which sent in batches (sendbatch.go)
	chains  map[uint32]interceptor.RTPWriter // each local stream's whole interceptor chain (sendbatch.go)
}

func newSRTPOut(sock *udpSocket) *srtpOut { return &srtpOut{sock: sock} }

// prfHashes are the PRF hashes of the cipher suites Pion's DTLS may negotiate with us.
var prfHashes = map[dtls.CipherSuiteID]prf.HashFunc{
	dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       sha256.New,
	dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         sha256.New,
	dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          sha256.New,
	dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            sha256.New,
	dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: sha256.New,
	dtls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   sha256.New,
	dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       sha512.New384,
	dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         sha512.New384,
}

// srtpProfiles are the SRTP profiles we offer (engine.go), as package srtp names them.
var srtpProfiles = map[dtls.SRTPProtectionProfile]srtp.ProtectionProfile{
	dtls.SRTP_AEAD_AES_128_GCM:       srtp.ProtectionProfileAeadAes128Gcm,
	dtls.SRTP_AEAD_AES_256_GCM:       srtp.ProtectionProfileAeadAes256Gcm,
	dtls.SRTP_AES128_CM_HMAC_SHA1_80: srtp.ProtectionProfileAes128CmHmacSha1_80,
}

// serverHello notes what our DTLS ServerHello settles (the setting engine's hook) and
// sends it unchanged.
func (o *srtpOut) serverHello(m handshake.MessageServerHello) handshake.Message {
	random := m.Random.MarshalFixed()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.random, o.hash = random[:], nil
	if m.CipherSuiteID != nil {
		o.hash = prfHashes[dtls.CipherSuiteID(*m.CipherSuiteID)]
	}
	o.profile = 0
	for _, x := range m.Extensions {
		if u, ok := x.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) == 1 {
			o.profile = srtpProfiles[u.ProtectionProfiles[0]]
		}
	}
	return &m
}

// Write takes the DTLS key log ("CLIENT_RANDOM <client random> <master secret>", hex) and
// makes the connection's SRTP context from it; a later handshake's line replaces it, as
// Pion replaces its own. It never fails: a connection whose keys cannot be made here keeps
// Pion's path. The master secret is not kept.
func (o *srtpOut) Write(line []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ctx, err := o.context(line)
	if err != nil {
		ctx = nil // Pion's path
	}
	o.ctx = ctx
	return len(line), nil
}

var errNoDirect = errors.New("media: no direct SRTP for this connection")

// context derives our SRTP write key (o.mu held).
func (o *srtpOut) context(line []byte) (*srtp.Context, error) {
	f := bytes.Fields(line)
	if len(f) != 3 || string(f[0]) != "CLIENT_RANDOM" || o.random == nil || o.hash == nil || o.profile == 0 {
		return nil, errNoDirect // we are the DTLS client, or an unknown suite or profile
	}
	client, err1 := hex.DecodeString(string(f[1]))
	master, err2 := hex.DecodeString(string(f[2]))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	cfg := srtp.Config{Profile: o.profile}
	x := exporter{master: master, seed: append(append([]byte{}, client...), o.random...), hash: o.hash}
	if err := cfg.ExtractSessionKeysFromDTLS(x, false); err != nil {
		return nil, err
	}
	return srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
}

// exporter is the RFC 5705 keying material exporter of one DTLS 1.2 connection, as
// package srtp asks for it: PRF(master secret, label + client random + server random).
type exporter struct {
	master, seed []byte
	hash         prf.HashFunc
}

func (x exporter) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if len(context) != 0 {
		return nil, errNoDirect
	}
	return prf.PHash(x.master, append([]byte(label), x.seed...), length, x.hash)
}

// route follows the connection's selected candidate pair: direct writes go to its remote
// address while it is UDP. A pair that turns to TCP mid-call hands the streams back to
// Pion's SRTP context, which starts their rollover counters at zero: after a stream's
// first 65,536 packets (some eight minutes of video) the receiver would then fail to
// decrypt it. Pion does not renominate pairs, and browsers prefer UDP, so it is left so.
func (o *srtpOut) route(remote netip.AddrPort, udp bool) {
	if !udp || !remote.IsValid() {
		o.to.Store(nil)
		return
	}
	o.to.Store(&remote)
}

// sendBuf is one packet's plaintext and ciphertext; pooled, as writes come from several
// fan-out workers and retransmissions at once.
type sendBuf struct {
	plain, enc []byte
	hdr        rtp.Header
}

var sendBufs = sync.Pool{New: func() any { return &sendBuf{plain: make([]byte, 0, 1500), enc: make([]byte, 0, 1536)} }}

// write encrypts and sends one packet if this connection is written directly, or leaves it
// in batch to be sent with others if batch is not nil; ok is false when Pion's path must
// take it.
func (o *srtpOut) write(h *rtp.Header, payload []byte, batch *sendBatch) (n int, ok bool, err error) {
	to := o.to.Load()
	if to == nil {
		return 0, false, nil
	}
	buf := sendBufs.Get().(*sendBuf)
	defer sendBufs.Put(buf)
	size := h.MarshalSize()
	if need := size + len(payload); cap(buf.plain) < need {
		buf.plain = make([]byte, need)
	}
	plain := buf.plain[:size+len(payload)]
	if _, err := h.MarshalTo(plain); err != nil {
		return 0, true, err
	}
	copy(plain[size:], payload)
	if to.Addr().Zone() != "" {
		batch = nil // a link-local address: the net package maps its zone to an interface
	}
	dst := buf.enc[:0]
	if batch != nil {
		dst = batch.slot(o.sock)
	}
	o.mu.Lock()
	if o.ctx == nil {
		o.mu.Unlock()
		return 0, false, nil
	}
	enc, err := o.ctx.EncryptRTP(dst, plain, &buf.hdr)
	o.sent++
	if batch != nil {
		o.batched++
	}
	o.mu.Unlock()
	if err != nil {
		return 0, true, err
	}
	if batch != nil {
		batch.add(enc, *to)
		return len(enc), true, nil
	}
	buf.enc = enc[:0]
	n, err = o.sock.udp.WriteToUDPAddrPort(enc, *to)
	return n, true, err
}

// direct reports whether RTP goes by this path now: keys known, reached over UDP.
func (o *srtpOut) direct() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ctx != nil && o.to.Load() != nil
}

// written is how many packets were written directly, and how many of those in batches.
func (o *srtpOut) written() (sent, batched uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent, o.batched
}

// directFactory gives each peer connection's interceptor chain, innermost, the writer of
// that connection. Connections are made one at a time (engine.newPeerConnection), which
// sets next for the one being made.
type directFactory struct{ next *srtpOut }

func (f *directFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &directInterceptor{out: f.next}, nil
}

type directInterceptor struct {
	interceptor.NoOp
	out *srtpOut
}

func (i *directInterceptor) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if i.out == nil {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if n, ok, err := i.out.write(h, payload, batchOf(a)); ok {
			return n, err
		}
		return w.Write(h, payload, a)
	})
}
