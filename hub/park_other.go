//go:build !linux

package hub

import "net"

// Readers park only where epoll is available (park_linux.go).
type poller struct{}

func sharedPoller() *poller         { return nil }
func socketFD(net.Conn) int         { return -1 }
func (p *poller) arm(c *conn) error { return nil }
func (p *poller) forget(c *conn)    {}
