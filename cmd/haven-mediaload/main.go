// Command haven-mediaload measures Haven's media forwarding (issue #6): one publisher
// sending about 1.2 Mb/s (synthetic VP8 at 30 fps with valid payload descriptors and a
// keyframe every 2 s, plus Opus-sized audio) to a growing number of subscribers, each a
// Pion peer connection in this process, separate from the server's.
//
// The server is a real haven binary: started fresh for each run with -haven (SQLite, the
// in-memory broker, media on one UDP port on 127.0.0.1), or one already running at -url
// whose process id is -pid. Loopback only.
//
// Per step (subscribers are added to reach 25, 50, 100, … and stay for the next step) it
// measures over a window after a warm-up: the server's CPU from /proc/PID/stat (% of a core
// per subscriber, subscribers per core at that load), its RSS from /proc/PID/status (and
// per subscriber, over the publisher-only baseline), the forwarding latency (every packet
// carries its send time; publisher and subscribers share this process's clock), losses
// (every packet carries the publisher's own packet number: a subscriber's loss is what the
// publisher sent in the window and it never received; RTP sequence gaps are counted too),
// and PLIs, NACKs and drops from the server's /metrics. -runs repeats it all and the table
// shows medians with the spread; -json prints every run.
//
//	go build -o /tmp/haven ./cmd/haven && go build -o /tmp/haven-mediaload ./cmd/haven-mediaload
//	/tmp/haven-mediaload -haven /tmp/haven -steps 25,50,100,200,400 -runs 3
//	/tmp/haven-mediaload -url http://127.0.0.1:8080 -pid $(pidof haven) -steps 50 -json
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "haven-mediaload:", err)
		os.Exit(1)
	}
}
