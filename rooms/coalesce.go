package rooms

import (
	"sync"
	"time"
)

// Coalescing: while votes pour in, one node publishes a poll's results (or a question's
// votes) at most once per ResultsEvery, always read from the store after the newest vote it
// took, so the last event carries the final counts. A vote that arrives while a flush is
// armed is covered by it: the flush reads the store after the vote committed.

type flushKey struct {
	s   *Service
	key string
}

type flushState struct {
	last  time.Time // when the last flush began
	armed bool      // a flush is scheduled and has not yet begun
}

var flushes = struct {
	mu sync.Mutex
	m  map[flushKey]*flushState
}{m: make(map[flushKey]*flushState)}

func (s *Service) coalesce(key string, flush func()) {
	k := flushKey{s, key}
	flushes.mu.Lock()
	st := flushes.m[k]
	if st == nil {
		st = &flushState{}
		flushes.m[k] = st
	}
	if st.armed {
		flushes.mu.Unlock()
		return
	}
	st.armed = true
	wait := max(time.Until(st.last.Add(ResultsEvery)), 0)
	flushes.mu.Unlock()
	time.AfterFunc(wait, func() {
		flushes.mu.Lock()
		st.armed, st.last = false, time.Now()
		flushes.mu.Unlock()
		flush()
		// Forget the key once it has been quiet for a full interval.
		time.AfterFunc(ResultsEvery, func() {
			flushes.mu.Lock()
			defer flushes.mu.Unlock()
			if !st.armed && time.Since(st.last) >= ResultsEvery && flushes.m[k] == st {
				delete(flushes.m, k)
			}
		})
	})
}
