package media

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
)

// lazyRecvFactory makes interceptors that only concern streams a peer connection receives
// (NACK generation, receiver reports, transport-wide feedback) start when the first such
// stream arrives. Pion starts each one's goroutine and ticker with the connection, so a
// webinar attendee, who only receives from us, would carry three goroutines and thirty
// timer wake-ups a second that never have anything to do: at 400 attendees, 1200
// goroutines' stacks and 12,000 wake-ups a second.
type lazyRecvFactory struct{ f interceptor.Factory }

// newLazyRecvFactory wraps f, after trying it once so that bad options fail at start.
func newLazyRecvFactory(name string, f interceptor.Factory) (lazyRecvFactory, error) {
	in, err := f.NewInterceptor("")
	if err != nil {
		return lazyRecvFactory{}, fmt.Errorf("media: %s interceptor: %w", name, err)
	}
	_ = in.Close()
	return lazyRecvFactory{f: f}, nil
}

func (lf lazyRecvFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	return &lazyRecv{f: lf.f, id: id}, nil
}

// lazyRecv builds its interceptor at the first remote stream and then hands it what the
// connection bound earlier: the RTCP writer, and each RTCP reader as it is next used.
type lazyRecv struct {
	interceptor.NoOp // local streams are not its concern
	f                interceptor.Factory
	id               string
	inner            atomic.Pointer[interceptor.Interceptor] // nil until a remote stream

	mu     sync.Mutex // guards writer, closed and the building of inner
	writer interceptor.RTCPWriter
	closed bool
}

func (l *lazyRecv) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	l.writer = w
	l.mu.Unlock()
	return w // the three wrapped interceptors only start a loop here; they never wrap it
}

func (l *lazyRecv) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	lr := &lazyReader{l: l, next: r}
	return interceptor.RTCPReaderFunc(lr.Read)
}

func (l *lazyRecv) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if in := l.build(); in != nil {
		return in.BindRemoteStream(info, r)
	}
	return r
}

// build makes the interceptor once, unless the connection has closed. The factories
// wrapped fail only on bad options, which configureMedia tries once at start; should one
// fail here all the same, the stream goes without it.
func (l *lazyRecv) build() interceptor.Interceptor {
	if p := l.inner.Load(); p != nil {
		return *p
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.inner.Load(); p != nil {
		return *p
	}
	if l.closed {
		return nil
	}
	in, err := l.f.NewInterceptor(l.id)
	if err != nil {
		return nil
	}
	if l.writer != nil {
		in.BindRTCPWriter(l.writer)
	}
	l.inner.Store(&in)
	return in
}

func (l *lazyRecv) UnbindRemoteStream(info *interceptor.StreamInfo) {
	if p := l.inner.Load(); p != nil {
		(*p).UnbindRemoteStream(info)
	}
}

func (l *lazyRecv) Close() error {
	l.mu.Lock()
	l.closed = true
	p := l.inner.Load()
	l.mu.Unlock()
	if p == nil {
		return nil
	}
	return (*p).Close()
}

// lazyReader is one RTCP reader of the connection: straight through until the interceptor
// exists, then through the interceptor's reader, bound on first use.
type lazyReader struct {
	l     *lazyRecv
	next  interceptor.RTCPReader
	once  sync.Once
	bound interceptor.RTCPReader
}

func (lr *lazyReader) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	p := lr.l.inner.Load()
	if p == nil {
		return lr.next.Read(b, a)
	}
	lr.once.Do(func() { lr.bound = (*p).BindRTCPReader(lr.next) })
	return lr.bound.Read(b, a)
}
