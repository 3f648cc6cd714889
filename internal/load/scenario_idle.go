package load

import (
	"context"
	"fmt"
	"time"

	"github.com/havenhealth/haven/internal/progress"
)

// recordSetup notes how many members got in and how long it took.
func (r *runner) recordSetup(ms []*member, start time.Time) {
	var h hist
	n := 0
	for _, m := range ms {
		if m != nil {
			n++
			h.add(m.joinedNS)
		}
	}
	r.res.Setup.Connected = n
	r.res.Setup.ConnectSeconds = round2(time.Since(start).Seconds())
	r.res.Setup.Join = h.summary()
}

// idle connects N members to one room, holds them for -duration without traffic and
// reports the server's resident memory per connection.
func (r *runner) idle(ctx context.Context) error {
	toks, err := r.tokens(ctx, r.o.N)
	if err != nil {
		return err
	}
	before, src, err := r.serverRSS(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	ms := r.connectAll(ctx, toks, func(int) string { return r.o.Room }, r.setupConcurrency(), handlers{}, nil)
	r.recordSetup(ms, start)
	defer closeAll(conns(ms))
	if r.res.Setup.Connected == 0 {
		return fmt.Errorf("no member could connect")
	}
	r.phase.Set(func() string { return fmt.Sprintf("settling: %d connections", r.res.Setup.Connected) })
	if err := progress.Sleep(ctx, time.Second); err != nil {
		return err
	}
	joined, _, err := r.serverRSS(ctx)
	if err != nil {
		return err
	}
	holdStart := time.Now()
	r.phase.Set(func() string {
		gone := 0
		for _, m := range ms {
			if m != nil {
				if d, _ := m.c.disconnected(); d {
					gone++
				}
			}
		}
		return fmt.Sprintf("holding %d idle connections (%.0fs of %s), %d disconnected", r.res.Setup.Connected, time.Since(holdStart).Seconds(), r.o.Duration, gone)
	})
	if err := progress.Sleep(ctx, r.o.Duration); err != nil {
		return err
	}
	end, _, err := r.serverRSS(ctx)
	if err != nil {
		return err
	}
	n := float64(r.res.Setup.Connected)
	r.res.Idle = &Idle{Source: src, RSSBefore: before, RSSJoined: joined, RSSEnd: end,
		PerConnJoined: round2(float64(joined-before) / n), PerConnEnd: round2(float64(end-before) / n),
		HeldSeconds: round2(time.Since(holdStart).Seconds())}
	r.res.Disconnects = r.countDisconnects(ms)
	return nil
}
