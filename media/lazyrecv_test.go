package media

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"

	"github.com/havenhealth/haven/broker"
)

// receiveLoops counts the goroutines of the interceptors that serve received streams.
func receiveLoops() int {
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, fn := range []string{"nack.(*GeneratorInterceptor).loop", "report.(*ReceiverInterceptor).loop", "twcc.(*SenderInterceptor).loop"} {
		n += strings.Count(stacks, fn+"(")
	}
	return n
}

// TestPublisherFeedback: the interceptors for received streams, started only once a
// stream arrives, still tell the publisher what the server got: receiver reports, a NACK
// for a lost packet, transport-wide feedback.
func TestPublisherFeedback(t *testing.T) {
	tn := newTestNode(t, "n1", broker.NewMemory(), nil, nil)
	host := tn.client("host", "talk", "webinar", RankHost)
	stamp, err := twcc.NewHeaderExtensionInterceptor() // a browser numbers what it sends
	if err != nil {
		t.Fatal(err)
	}
	host.inner = []interceptor.Factory{stamp}
	host.must("media.start", nil)
	if r := host.join(); r.str("type") != "ok" {
		t.Fatalf("host join: %v", r)
	}
	src := newSource(t, host, nil, true)
	host.offer(src.kinds())
	src.start()
	time.Sleep(300 * time.Millisecond)
	src.skip.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rr, nack, tcc := src.rtcpCount(&rtcp.ReceiverReport{}), src.rtcpCount(&rtcp.TransportLayerNack{}), src.rtcpCount(&rtcp.TransportLayerCC{})
		if rr > 0 && nack > 0 && tcc > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the publisher got %d receiver reports, %d NACKs, %d transport-cc feedback packets", rr, nack, tcc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSubscriberRunsNoReceiveLoops: a peer connection that receives nothing from its
// client (an attendee's) starts none of those interceptors' goroutines.
func TestSubscriberRunsNoReceiveLoops(t *testing.T) {
	cfg := Config{ListenIP: "127.0.0.1", Logger: testLogger()}
	cfg.defaults()
	e, err := newEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	// Earlier tests' connections may still be winding down: wait for the count to settle.
	before := receiveLoops()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
		n := receiveLoops()
		if n == before {
			break
		}
		before = n
	}
	pc, _, _, err := e.newPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	if after := receiveLoops(); after > before {
		t.Fatalf("%d receive-side interceptor goroutines before the peer connection, %d with it", before, after)
	}
}
