// Command haven-load puts a Haven node under load the way clients do, over PROTOCOL v1:
// it signs members up (or reuses their tokens), opens many WebSocket connections to one
// node (loopback unless -allow-remote), runs one bounded scenario and prints a table, or
// JSON with -json. Scenarios: idle (server RSS per connection), broadcast (fan-out rate,
// latency and losses in one big room), rooms (many small rooms, everyone chatting),
// join-storm (everyone connecting and joining at once) and moderation (not yet).
//
//	haven-load -scenario broadcast -n 1000 -rate 50,100,200 -duration 10s -save-tokens /tmp/tok
//
// The logic lives in internal/load so tests can run it in-process.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/havenhealth/haven/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := load.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "haven-load:", err)
		os.Exit(1)
	}
}
