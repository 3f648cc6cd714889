package media

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"
)

// segmentCase is a run of packets to two receivers, and how many messages the batch makes
// of it: consecutive packets to one receiver join a message while each is no larger than
// the first and only the last is smaller.
var segmentCase = []struct {
	to   int // receiver
	size int
}{
	{0, 1200}, {0, 1200}, {0, 1200}, {0, 700}, // one message of four
	{0, 1200},            // after a short one: a new message
	{1, 1200}, {1, 1200}, // another receiver
	{1, 1300}, // larger than the first: a new message
	{1, 1300}, {1, 100},
	{0, 500}, {0, 600}, // larger: apart
}

const segmentMsgs = 6

// sendSegments sends segmentCase through one batch from conn and reports how many
// messages the batch made; the receivers must then read every packet whole, in order.
func sendSegments(t *testing.T, conn *udpSocket, recv [2]*net.UDPConn) int {
	t.Helper()
	b := sendBatches.Get().(*sendBatch)
	defer sendBatches.Put(b)
	for i, c := range segmentCase {
		enc := append(b.slot(conn), bytes.Repeat([]byte{byte(i)}, c.size)...)
		b.add(enc, recv[c.to].LocalAddr().(*net.UDPAddr).AddrPort())
	}
	msgs := b.msgs.nmsg
	b.flush()
	return msgs
}

func readSegments(t *testing.T, recv [2]*net.UDPConn) {
	t.Helper()
	buf := make([]byte, 2048)
	for i, c := range segmentCase {
		r := recv[c.to]
		_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if n != c.size || buf[0] != byte(i) || buf[n-1] != byte(i) {
			t.Fatalf("packet %d: read %d bytes of packet %d, want %d bytes", i, n, buf[0], c.size)
		}
	}
}

// TestSendBatchSegments: packets that may be joined leave as segmented messages and
// arrive as the packets they were.
func TestSendBatchSegments(t *testing.T) {
	conn, recv := loopbackSocket(t), loopbackReceivers(t)
	before := testutil.ToFloat64(dropsSend)
	if got := sendSegments(t, conn, recv); got != segmentMsgs {
		t.Errorf("%d messages, want %d", got, segmentMsgs)
	}
	readSegments(t, recv)
	if conn.noGSO.Load() {
		t.Error("segmentation turned off")
	}
	if got := testutil.ToFloat64(dropsSend) - before; got != 0 {
		t.Errorf("%v send errors counted", got)
	}
}

// TestSendBatchSegmentsRefused: a socket whose segmented sends the kernel refuses (here
// with UDP checksums off, which segmentation needs) sends the refused message's packets
// one by one, loses none, and stops joining packets.
func TestSendBatchSegmentsRefused(t *testing.T) {
	conn, recv := loopbackSocket(t), loopbackReceivers(t)
	var serr error
	if err := conn.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	before := testutil.ToFloat64(dropsSend)
	sendSegments(t, conn, recv)
	readSegments(t, recv)
	if !conn.noGSO.Load() {
		t.Fatal("segmentation still on")
	}
	if got := sendSegments(t, conn, recv); got != len(segmentCase) {
		t.Errorf("%d messages once refused, want one per packet (%d)", got, len(segmentCase))
	}
	readSegments(t, recv)
	if got := testutil.ToFloat64(dropsSend) - before; got != 0 {
		t.Errorf("%v send errors counted", got)
	}
}
