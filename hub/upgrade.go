package hub

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a hijacked connection. net/http hands a WebSocket its 4 KiB request
// reader plus a fresh 4 KiB writer, and coder/websocket keeps both for the connection's
// life. Client commands are small, so the reader shrinks to 1 KiB. The writer stays at
// 4 KiB: a frame that does not fit takes two write calls, and a 2 KiB writer made batched
// broadcast frames measurably slower (BENCHMARKS.md).
const (
	connReadBuffer  = 1 << 10
	connWriteBuffer = 4 << 10
)

// smallBuffers hands websocket.Accept a hijacked connection with smaller bufio buffers
// than net/http's. It keeps no reference to net/http's own buffers, which are freed
// once ServeHTTP returns.
type smallBuffers struct {
	http.ResponseWriter
}

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(nc, connReadBuffer)
	if n := brw.Reader.Buffered(); n > 0 {
		// The client may have sent its first frame as soon as it read the 101, and net/http
		// may have read some of it. websocket.Accept keeps only what is buffered in the
		// reader it gets (it resets the reader onto the bare connection), so those bytes
		// must sit in our reader's buffer, not behind it.
		b, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc), max(connReadBuffer, n))
		if _, err := br.Peek(n); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, connWriteBuffer)), nil
}
