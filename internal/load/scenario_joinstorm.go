package load

import (
	"context"
	"time"
)

// joinStorm connects and joins N members at once (or -concurrency at a time) and reports
// how long until all were in.
func (r *runner) joinStorm(ctx context.Context) error {
	toks, err := r.tokens(ctx, r.o.N)
	if err != nil {
		return err
	}
	mark := r.markCPU()
	start := time.Now()
	ms := r.connectAll(ctx, toks, func(int) string { return r.o.Room }, r.o.Concurrency, handlers{}, nil)
	total := time.Since(start)
	r.res.CPU = r.cpuSince(mark)
	r.recordSetup(ms, start)
	defer closeAll(conns(ms))
	js := &JoinStorm{TotalSeconds: round2(total.Seconds()), Joined: r.res.Setup.Connected,
		Failed: r.o.N - r.res.Setup.Connected, Join: r.res.Setup.Join}
	if total > 0 {
		js.JoinsPerSec = round2(float64(js.Joined) / total.Seconds())
	}
	r.res.JoinStorm = js
	r.res.Disconnects = r.countDisconnects(ms)
	return nil
}
