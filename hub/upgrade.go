package hub

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// connReadBuffer is the read buffer of a hijacked connection. net/http hands a WebSocket
// its 4 KiB request reader plus a fresh 4 KiB writer, and coder/websocket keeps both for
// the connection's life. Client commands are small, so the reader shrinks to 512 bytes
// (a longer command takes a second read call); the writer is 64 bytes over a
// frameWriter, which still writes each frame in one call.
const connReadBuffer = 512

// smallBuffers hands websocket.Accept a hijacked connection with smaller bufio buffers
// than net/http's. It keeps no reference to net/http's own buffers, which are freed
// once ServeHTTP returns.
// It remembers the connection and its reader, which parking needs.
type smallBuffers struct {
	http.ResponseWriter
	nc net.Conn
	br *bufio.Reader
	fw *frameWriter
}

func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
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
	w.nc, w.br, w.fw = nc, br, newFrameWriter(nc)
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(w.fw, frameHold)), nil
}
