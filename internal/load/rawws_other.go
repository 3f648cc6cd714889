//go:build !linux

package load

import (
	"context"
	"errors"
)

// The epoll reader is Linux's (rawws_linux.go); elsewhere connections are read through
// coder/websocket.
const (
	rawAvailable  = false
	defaultReader = "std"
)

func dialRaw(context.Context, *conn, string, string) error {
	return errors.New("dial /ws: the epoll reader needs Linux")
}
