package load

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/havenhealth/haven/internal/progress"
)

// runner is one run's state.
type runner struct {
	o      options
	id     string
	hc     *http.Client
	stderr io.Writer
	res    *Result

	phase progress.Line

	errMu sync.Mutex
	errs  map[string]int // distinct error text → count

	// memberNode, when set, places member i on a node (an index in -url); otherwise
	// members go round robin.
	memberNode func(i int) int
}

// Run parses args (the flags, without the program name), runs one scenario and prints its
// results to stdout, progress to stderr. It returns an error when the run could not be
// made or when it saw errors, losses or disconnects (after printing the results).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if _, err := raiseFileLimit(); err != nil {
		fmt.Fprintf(stderr, "haven-load: %v (continuing)\n", err)
	}
	r := &runner{o: o, id: runID(), hc: newHTTPClient(o.SignupConc * 2), stderr: stderr,
		res: &Result{Scenario: o.Scenario, URL: o.URL, Members: o.N}, errs: make(map[string]int)}
	if len(o.URLs) > 1 {
		r.res.URLs = o.URLs
	}
	r.res.Reader = "std"
	if r.dialer().raw {
		r.res.Reader = "epoll"
	}
	defer r.hc.CloseIdleConnections()
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	base := snapshotCounters()
	stop := r.phase.Start(r.stderr, r.o.Quiet)
	start := time.Now()
	switch o.Scenario {
	case "idle":
		err = r.idle(ctx)
	case "broadcast", "rooms":
		err = r.chat(ctx)
	case "join-storm":
		err = r.joinStorm(ctx)
	case "moderation":
		err = r.moderation(ctx)
	}
	stop()
	r.res.WallSeconds = round2(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("%s: %w", o.Scenario, err)
	}
	base.since(r)
	r.res.finish(r)
	if o.JSON {
		if err := r.res.writeJSON(stdout); err != nil {
			return err
		}
	} else {
		r.res.writeTable(stdout)
	}
	return r.res.verdict()
}

type counters struct{ bad, reconnect, orphan int64 }

func snapshotCounters() counters {
	return counters{badObjects.Load(), reconnects.Load(), orphanReplies.Load()}
}

func (c counters) since(r *runner) {
	if n := badObjects.Load() - c.bad; n > 0 {
		r.errorN(fmt.Sprintf("undecodable server objects"), int(n))
	}
	if n := reconnects.Load() - c.reconnect; n > 0 {
		r.errorN("reconnect events (the node is draining)", int(n))
	}
	if n := orphanReplies.Load() - c.orphan; n > 0 {
		r.errorN("replies to no pending command", int(n))
	}
}

func (r *runner) error(err error) { r.errorN(err.Error(), 1) }

func (r *runner) errorN(msg string, n int) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if _, ok := r.errs[msg]; !ok && len(r.errs) >= 20 {
		msg = "other errors"
	}
	r.errs[msg] += n
}

func (r *runner) errorList() ([]ErrorCount, int) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	var out []ErrorCount
	total := 0
	for m, n := range r.errs {
		out = append(out, ErrorCount{Error: m, Count: n})
		total += n
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out, total
}

// member is one connection the scenario wants to keep.
type member struct {
	c        *conn
	room     string
	node     int   // index in -url
	joinedNS int64 // dial start to join ok
}

// nodeOf is the index in -url of the node member i connects to: round robin, or as the
// scenario says (runner.memberNode).
func (r *runner) nodeOf(i int) int {
	if r.memberNode != nil {
		return r.memberNode(i)
	}
	return i % len(r.o.URLs)
}

// connectAll dials one connection per token, to node nodeOf(i), and joins room(i), at most
// conc at once (0 = all at once). Members that fail are nil and counted as errors.
func (r *runner) connectAll(ctx context.Context, tokens []string, room func(i int) string, conc int,
	h handlers, onJoined func(i int, rep reply)) []*member {
	n := len(tokens)
	out := make([]*member, n)
	var connected, failed atomic.Int64
	r.phase.Set(func() string {
		return fmt.Sprintf("connecting: %d/%d joined, %d failed", connected.Load(), n, failed.Load())
	})
	if conc <= 0 || conc > n {
		conc = n
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range tokens {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			node := r.nodeOf(i)
			c, err := r.dialer().dial(cctx, r.o.URLs[node], tokens[i], i, h)
			if err == nil {
				var cb func(reply)
				if onJoined != nil {
					cb = func(rep reply) { onJoined(i, rep) }
				}
				if err = c.join(cctx, room(i), cb); err != nil {
					c.close()
				}
			}
			if err != nil {
				failed.Add(1)
				r.error(fmt.Errorf("member %d: %w", i, err))
				return
			}
			out[i] = &member{c: c, room: room(i), node: node, joinedNS: int64(time.Since(start))}
			connected.Add(1)
		}()
	}
	wg.Wait()
	return out
}

// dialer dials with the run's HTTP client and the -reader chosen; the epoll reader speaks
// only plain http://, so any https:// node puts the whole run on the std reader.
func (r *runner) dialer() dialer {
	raw := r.o.Reader == "epoll"
	for _, u := range r.o.URLs {
		raw = raw && strings.HasPrefix(u, "http://")
	}
	return dialer{hc: r.hc, raw: raw}
}

func conns(ms []*member) []*conn {
	out := make([]*conn, 0, len(ms))
	for _, m := range ms {
		if m != nil {
			out = append(out, m.c)
		}
	}
	return out
}

// countDisconnects records members the server dropped.
func (r *runner) countDisconnects(ms []*member) int {
	n := 0
	for _, m := range ms {
		if m == nil {
			continue
		}
		if gone, why := m.c.disconnected(); gone {
			n++
			r.error(fmt.Errorf("disconnected: %s", why))
		}
	}
	return n
}

func (r *runner) setupConcurrency() int {
	if r.o.Concurrency > 0 {
		return r.o.Concurrency
	}
	return 200
}
