//go:build linux

package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// handshake dials base (http://host:port) and upgrades /ws to PROTOCOL v1 with a bearer
// token. It returns the socket as a non-blocking descriptor of its own, outside the
// runtime's poller, and any bytes that arrived after the server's reply.
func handshake(ctx context.Context, base, token string) (fd int, pre []byte, err error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return -1, nil, fmt.Errorf("want an http:// node, got %q", base)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return -1, nil, err
	}
	defer nc.Close() // the descriptor returned is a duplicate
	deadline := time.Now().Add(30 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = nc.SetDeadline(deadline)

	var raw [16]byte
	_, _ = rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	path := strings.TrimSuffix(u.Path, "/") + "/ws"
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: haven.v1\r\n" +
		"Authorization: Bearer " + token + "\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return -1, nil, fmt.Errorf("write upgrade: %w", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return -1, nil, fmt.Errorf("read upgrade reply: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		resp.Body.Close()
		return -1, nil, fmt.Errorf("status %d: upgrade refused: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return -1, nil, fmt.Errorf("upgrade reply is not a WebSocket handshake")
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "haven.v1" {
		return -1, nil, fmt.Errorf("server chose subprotocol %q, want haven.v1", p)
	}
	if n := br.Buffered(); n > 0 {
		pre, _ = br.Peek(n)
		pre = append([]byte(nil), pre...)
	}
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1, nil, err
	}
	fd = -1
	cerr := rc.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return -1, nil, cerr
	}
	if err != nil {
		return -1, nil, fmt.Errorf("dup socket: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("socket: %w", err)
	}
	return fd, pre, nil
}
