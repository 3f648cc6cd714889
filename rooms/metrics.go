package rooms

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var storeSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "haven_store_seconds",
	Help:    "Latency of store calls on the message path, by operation and result.",
	Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
}, []string{"op", "result"})

func observeStore(op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	storeSeconds.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

var metricModeration = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "haven_moderation_actions_total",
	Help: "Moderation actions applied, by action.",
}, []string{"action"})
