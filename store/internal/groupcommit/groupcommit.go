// Package groupcommit batches concurrent message appends into one transaction for both
// store backends.
package groupcommit

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/havenhealth/haven/store"
)

// Appender is group commit: concurrent AppendMessage calls queue here and a worker commits
// everything queued so far in one transaction, so a burst pays for one commit instead of one
// per message. There is no timer: a batch is whatever arrived while the previous one was
// committing, so a lone append is not delayed.
//
// Appends to one room always go to the same shard (one worker each), which keeps a room's
// batches in order.
type Appender struct {
	mu     sync.RWMutex // guards closed against sends on closed shards
	closed bool
	shards []chan *Request
	max    int
	commit func(batch []*Request)
	wg     sync.WaitGroup
}

// A request is queued, then either claimed by a worker (and then always answered) or
// abandoned by a caller whose context ended first (and then never written).
const (
	reqQueued int32 = iota
	reqClaimed
	reqAbandoned
)

// Request is one queued append; the backend's commit function sets Msg, Dup or Err.
type Request struct {
	M     store.NewMessage
	state atomic.Int32
	done  chan struct{}
	// Set by commit before done is closed.
	Msg store.Message
	Dup bool
	Err error
}

var errAppenderClosed = fmt.Errorf("store closed: %w", store.ErrUnavailable)

// New starts shards workers; appends to one room always go to the same shard.
func New(shards, maxBatch int, commit func(batch []*Request)) *Appender {
	a := &Appender{max: maxBatch, commit: commit}
	for range shards {
		ch := make(chan *Request, maxBatch)
		a.shards = append(a.shards, ch)
		a.wg.Go(func() { a.run(ch) })
	}
	return a
}

// Append queues m and waits for its outcome.
func (a *Appender) Append(ctx context.Context, m store.NewMessage) (store.Message, bool, error) {
	r := &Request{M: m, done: make(chan struct{})}
	h := fnv.New32a()
	h.Write([]byte(m.RoomID))
	ch := a.shards[h.Sum32()%uint32(len(a.shards))]
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return store.Message{}, false, errAppenderClosed
	}
	select {
	case ch <- r:
		a.mu.RUnlock()
	case <-ctx.Done():
		a.mu.RUnlock()
		return store.Message{}, false, ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return store.Message{}, false, ctx.Err()
		}
		// Already in a transaction: wait for its outcome rather than report a failure
		// for a message that may be stored.
		<-r.done
	}
	return r.Msg, r.Dup, r.Err
}

func (a *Appender) run(ch chan *Request) {
	batch := make([]*Request, 0, a.max)
	for r := range ch {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < a.max {
			select {
			case r, ok := <-ch:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		live := batch[:0]
		for _, r := range batch {
			if r.state.CompareAndSwap(reqQueued, reqClaimed) {
				live = append(live, r)
			}
		}
		if len(live) > 0 {
			a.commit(live)
		}
		for _, r := range live {
			close(r.done)
		}
	}
}

// Close stops accepting appends and returns once every queued one has been answered.
func (a *Appender) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		for _, ch := range a.shards {
			close(ch)
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// Commit writes batch with appendBatch, in one transaction. When that fails for a reason
// of one append's own (a reused message ID, say), the whole transaction is lost, so each
// append is retried alone and only the faulty one fails; when failAll says the database
// itself failed, every append gets the error.
func Commit(ctx context.Context, batch []*Request, appendBatch func(context.Context, []*Request) error, failAll func(error) bool) {
	err := appendBatch(ctx, batch)
	if err == nil {
		return
	}
	if len(batch) == 1 || failAll(err) {
		for _, r := range batch {
			r.Err = err
		}
		return
	}
	for _, r := range batch {
		if err := appendBatch(ctx, []*Request{r}); err != nil {
			r.Err = err
		}
	}
}
