// Command haven-load puts Haven under load the way clients do, over PROTOCOL v1: it signs
// members up (or reuses their tokens), opens many WebSocket connections to one node or
// spreads them over several (-url a,b; loopback unless -allow-remote), runs one bounded
// scenario and prints a table, or JSON with -json. Scenarios: idle (server RSS per
// connection), broadcast (fan-out rate, latency and losses in one big room), rooms (many
// small rooms, everyone chatting), join-storm (everyone connecting and joining at once) and
// moderation (how long a mute and a removal by a moderator on the first node take to be in
// effect for a member on another node, under background chat). On Linux a few epoll
// readers serve every member's connection, so the tool takes little of the machine it
// shares with the server; -reader std reads through coder/websocket, a goroutine each.
//
//	haven-load seed -store ./haven-data/haven.db -n 10000 -tokens /tmp/tok -history 50
//	haven-load -scenario broadcast -n 1000 -rate 50,100,200 -duration 10s -save-tokens /tmp/tok
//	haven-load -scenario moderation -url http://127.0.0.1:18091,http://127.0.0.1:18092 \
//		-n 100 -rate 20 -count 500 -duration 2m -admin-email admin@load.example.org -admin-password admin-password-1
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
	run := load.Run
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "seed" { // members and sessions written straight into a store
		run, args = load.Seed, args[1:]
	}
	if err := run(ctx, args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "haven-load:", err)
		os.Exit(1)
	}
}
