package hub

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

// memSample reads the runtime's own accounting of live heap objects and goroutine stacks.
func memSample() (heap, stacks uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func settledMem() (heap, stacks uint64) {
	for range 5 { // a stack shrinks by half per cycle while it is mostly unused
		runtime.GC()
	}
	return memSample()
}

// BenchmarkIdleConnMemory: the server memory an idle member costs. N raw clients (no Go
// heap of their own beyond the socket) join one room and stay; the figures are the growth
// of live heap objects and goroutine stacks after garbage collection, per connection.
// Run with -benchtime 1x: each iteration connects N members.
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				node := newTestNode(b, Config{})
				tokens := make([]string, n)
				for i := range tokens {
					tokens[i] = node.user(i)
				}
				heap0, stacks0 := settledMem()
				b.StartTimer()
				for _, tok := range tokens {
					c := node.dialRaw(tok)
					c.command(b, `{"id":"j","type":"join","room":"r1","accept_guidelines":1}`)
				}
				node.waitLive("r1", n)
				node.waitWritten()
				b.StopTimer()
				heap1, stacks1 := settledMem()
				b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/conn")
				b.ReportMetric(float64(stacks1-stacks0)/float64(n), "stack-B/conn")
				b.ReportMetric(float64(heap1+stacks1-heap0-stacks0)/float64(n), "B/conn")
			}
		})
	}
}

// BenchmarkFanOut: one room event to N local members over loopback, each member's client
// reading and dropping what it gets. allocs/recipient must stay near 0: the event is
// encoded once and every queue gets the same bytes.
func BenchmarkFanOut(b *testing.B) {
	frame := []byte(`{"type":"message","room":"r1","seq":1,"message_id":"m_x","author":{"id":"u1","display_name":"user 1","role":"member","verified":false},"text":"` +
		strings.Repeat("x", 200) + `","ts":"2026-01-01T00:00:00.000Z"}`)
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			// Queues large enough that a tight loop of events disconnects nobody.
			node := newTestNode(b, Config{QueueEvents: 1 << 20, QueueBytes: 1 << 30})
			for i := range n {
				node.raw(node.user(i))
			}
			lr := node.waitLive("r1", n)
			node.waitWritten()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			b.ResetTimer()
			for range b.N {
				lr.onEphemeral(frame)
			}
			node.waitWritten()
			b.StopTimer()
			runtime.ReadMemStats(&m1)
			deliveries := float64(b.N) * float64(n)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/recipient")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/deliveries, "allocs/recipient")
		})
	}
}
