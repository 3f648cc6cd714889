//go:build linux

package load

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"
)

// serverFrame is an unmasked frame as a server sends it.
func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	return append(appendHeader(nil, b0, 0, len(payload)), payload...)
}

func msgObject(text string) []byte {
	return []byte(`{"type":"message","room":"r","seq":1,"text":"` + text + `"}`)
}

// rawPair is a rawConn over one end of a socket pair; peer is the other end, where the
// frames the rawConn writes arrive. end closes both.
func rawPair(t *testing.T, onMessage func(text string)) (rc *rawConn, peer int, end func()) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[1], true); err != nil { // a frame not written fails the read
		t.Fatal(err)
	}
	c := &conn{pending: map[string]func(reply){}, done: make(chan struct{}),
		onMessage: func(_ *conn, f *fields, _ int64) { onMessage(string(f.Text)) }}
	rc = &rawConn{c: c, fd: fds[0]}
	c.tx = rc
	return rc, fds[1], func() { rc.closeSocket(); unix.Close(fds[1]) }
}

// readClientFrame reads one masked frame from fd and returns its opcode and unmasked payload.
func readClientFrame(t *testing.T, fd int) (byte, []byte) {
	t.Helper()
	buf := make([]byte, 1<<16)
	n, err := unix.Read(fd, buf)
	if err != nil || n < 6 {
		t.Fatalf("read client frame: n=%d err=%v", n, err)
	}
	b := buf[:n]
	if b[0]&0x80 == 0 || b[1]&0x80 == 0 {
		t.Fatalf("client frame %x: want final and masked", b[:2])
	}
	ln, h := int(b[1]&0x7f), 2
	if ln == 126 {
		ln, h = int(binary.BigEndian.Uint16(b[2:])), 4
	}
	key, payload := b[h:h+4], append([]byte(nil), b[h+4:h+4+ln]...)
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	return b[0] & 0x0f, payload
}

// TestRawFramesAcrossReads feeds a stream of server frames (three length encodings, a
// fragmented message with a ping inside it, a pong) to the reader in every way two reads
// can split it, and in byte-sized reads: every message arrives once, whole and in order,
// and each ping gets its pong.
func TestRawFramesAcrossReads(t *testing.T) {
	long := strings.Repeat("x", 70_000)
	var stream []byte
	stream = append(stream, serverFrame(true, 0x1, msgObject("a"))...)
	stream = append(stream, serverFrame(true, 0x1, msgObject(strings.Repeat("m", 200)))...)
	stream = append(stream, serverFrame(true, 0x1, msgObject(long))...)
	whole := msgObject("fragmented")
	stream = append(stream, serverFrame(false, 0x1, whole[:10])...)
	stream = append(stream, serverFrame(true, 0x9, []byte("are you there"))...)
	stream = append(stream, serverFrame(false, 0x0, whole[10:20])...)
	stream = append(stream, serverFrame(true, 0x0, whole[20:])...)
	stream = append(stream, serverFrame(true, 0xA, nil)...)
	stream = append(stream, serverFrame(true, 0x1, []byte(string(msgObject("b"))+"\n"+string(msgObject("c"))))...)
	want := []string{"a", strings.Repeat("m", 200), long, "fragmented", "b", "c"}

	check := func(t *testing.T, splits []int) {
		t.Helper()
		var got []string
		rc, peer, end := rawPair(t, func(s string) { got = append(got, s) })
		defer end()
		var f fields
		prev := 0
		for _, at := range append(splits, len(stream)) {
			if err := rc.consume(stream[prev:at], 1, &f); err != nil {
				t.Fatalf("splits %v: %v", splits, err)
			}
			prev = at
		}
		if len(rc.rx) != 0 || rc.inMsg {
			t.Fatalf("splits %v: %d bytes left over, in a message: %v", splits, len(rc.rx), rc.inMsg)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("splits %v: got %d messages %.60q, want %d", splits, len(got), got, len(want))
		}
		if op, p := readClientFrame(t, peer); op != 0xA || string(p) != "are you there" {
			t.Fatalf("splits %v: answered the ping with opcode %d %q", splits, op, p)
		}
	}
	for at := 0; at <= len(stream); at += 97 {
		check(t, []int{at})
	}
	for _, at := range []int{1, 2, 3, 4, 9, 10, 11} { // inside each kind of header
		check(t, []int{at})
	}
	bytewise := make([]int, 0, 4096)
	for i := 1; i < 4096; i++ {
		bytewise = append(bytewise, i)
	}
	check(t, bytewise)
}

// TestRawFramesRefused: frames a server must not send end the connection with an error
// that says why, and a close frame ends it with the server's code and reason.
func TestRawFramesRefused(t *testing.T) {
	cases := []struct {
		name, want string
		stream     []byte
	}{
		{"masked", "masked", []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}},
		{"reserved bits", "extended", []byte{0xC1, 0x01, 'x'}},
		{"over the limit", "over the", append([]byte{0x81, 127}, binary.BigEndian.AppendUint64(nil, readLimit+1)...)},
		{"continuation first", "continuation without", serverFrame(true, 0x0, []byte("x"))},
		{"message inside a message", "inside a fragmented", append(serverFrame(false, 0x1, []byte("x")), serverFrame(true, 0x1, []byte("y"))...)},
		{"unknown opcode", "opcode 3", serverFrame(true, 0x3, nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, end := rawPair(t, func(string) {})
			defer end()
			err := rc.consume(tc.stream, 1, &fields{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %q", err, tc.want)
			}
		})
	}
	t.Run("close", func(t *testing.T) {
		rc, peer, end := rawPair(t, func(string) {})
		defer end()
		err := rc.consume(serverFrame(true, 0x8, append([]byte{0x0f, 0xa1}, "slow client"...)), 1, &fields{})
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "slow client" {
			t.Fatalf("err = %v, want close 4001 slow client", err)
		}
		if op, p := readClientFrame(t, peer); op != 0x8 || len(p) != 2 || binary.BigEndian.Uint16(p) != 4001 {
			t.Fatalf("answered the close with opcode %d %x", op, p)
		}
	})
}

// TestRawDial runs the epoll reader against a coder/websocket server: the handshake with a
// bearer token and the subprotocol, a command and its reply, a large message the server
// writes in fragments, a ping that must be answered, and the server's close with a
// reason, which disconnected reports. A refused upgrade is an error with its status.
func TestRawDial(t *testing.T) {
	big := strings.Repeat("y", 300_000)
	closed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			http.Error(w, "expired session", http.StatusUnauthorized)
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"haven.v1"}})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer close(closed)
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		_, cmd, err := ws.Read(ctx) // fails unless the client masked its frame
		if err != nil || !strings.HasPrefix(string(cmd), `{"id":"c1","type":"send"`) {
			t.Errorf("command %q: %v", cmd, err)
			return
		}
		_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"ok","re":"c1","seq":7}`))
		mw, _ := ws.Writer(ctx, websocket.MessageText)
		obj := msgObject(big)
		for i := 0; i < len(obj); i += 50_000 { // several frames of one message
			_, _ = mw.Write(obj[i:min(i+50_000, len(obj))])
		}
		_ = mw.Close()
		go func() { _, _, _ = ws.Read(ctx) }() // pongs are read by a reader
		if err := ws.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		_ = ws.Close(4001, "slow client")
	}))
	defer srv.Close()

	var mu sync.Mutex
	var got []int
	d := dialer{raw: true}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := d.dial(ctx, srv.URL, "expired", 0, handlers{}); err == nil || !strings.Contains(err.Error(), "status 401: upgrade refused: expired session") {
		t.Fatalf("dial with a bad token: err = %v, want status 401 and the server's reason", err)
	}
	c, err := d.dial(ctx, srv.URL, "good", 0, handlers{onMessage: func(_ *conn, f *fields, _ int64) {
		mu.Lock()
		got = append(got, len(f.Text))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.tx.(*rawConn); !ok {
		t.Fatalf("transport %T, want the epoll reader", c.tx)
	}
	// 200 bytes of text: the command's frame takes the 16-bit length form
	rep, err := c.do(ctx, []byte(`"type":"send","room":"r","text":"`+strings.Repeat("h", 200)+`"`))
	if err != nil || !rep.OK || rep.Seq != 7 {
		t.Fatalf("reply %+v, err %v", rep, err)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("the connection did not end after the server's close")
	}
	<-closed
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != len(big) {
		t.Fatalf("messages of lengths %v, want one of %d", got, len(big))
	}
	if gone, why := c.disconnected(); !gone || why != "closed 4001 slow client" {
		t.Fatalf("disconnected = %v %q", gone, why)
	}
}

// TestRawClose: a close we start is answered by the server and ends the connection
// without counting as a disconnect.
func TestRawClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"haven.v1"}})
		if err != nil {
			return
		}
		_, _, _ = ws.Read(r.Context()) // answers the close
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialer{raw: true}.dial(ctx, srv.URL, "t", 0, handlers{})
	if err != nil {
		t.Fatal(err)
	}
	c.close()
	select {
	case <-c.done:
	default:
		t.Fatal("close returned before the connection ended")
	}
	if gone, why := c.disconnected(); gone {
		t.Fatalf("our own close counted as a disconnect: %s", why)
	}
	c.mu.Lock() // the server's answer ended it, not the shutdown that follows 5 s of silence
	defer c.mu.Unlock()
	var ce websocket.CloseError
	if !errors.As(c.err, &ce) || ce.Code != websocket.StatusNormalClosure {
		t.Errorf("ended with %v, want the normal closure echoed", c.err)
	}
}

// TestParseOptionsReader: Linux reads through epoll unless told otherwise; an unknown
// reader is refused by name; a run on an https:// node reports the std reader it used.
func TestParseOptionsReader(t *testing.T) {
	o, err := parseOptions([]string{"-scenario", "idle"}, io.Discard)
	if err != nil || o.Reader != "epoll" {
		t.Fatalf("default reader %q, err %v", o.Reader, err)
	}
	if o, err := parseOptions([]string{"-scenario", "idle", "-reader", "std"}, io.Discard); err != nil || o.Reader != "std" {
		t.Fatalf("-reader std: %q, err %v", o.Reader, err)
	}
	if _, err := parseOptions([]string{"-scenario", "idle", "-reader", "io_uring"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-reader must be") {
		t.Fatalf("-reader io_uring: err = %v", err)
	}
	o, err = parseOptions([]string{"-scenario", "broadcast", "-url", "http://127.0.0.1:1,https://127.0.0.1:2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if (&runner{o: o}).dialer().raw {
		t.Fatal("an https:// node was given to the epoll reader")
	}
}
