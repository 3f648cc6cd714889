package broker

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Broker metrics on the default registry. They are package-wide, so every broker in the
// process (one in production; several in tests) adds to the same series.
var (
	metricPublished = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_broker_published_total",
		Help: "Messages published to the broker, by result (ok, error).",
	}, []string{"result"})
	metricReceived = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_broker_received_total",
		Help: "Messages received from other nodes through the broker.",
	})
	metricPublishSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "haven_broker_publish_seconds",
		Help:    "Time to publish one message to the broker backend.",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2},
	})
	metricReconnects = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_broker_reconnects_total",
		Help: "Recoveries of the broker's subscriber connection after an outage.",
	})
	metricUp = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_broker_up",
		Help: "1 while the broker's subscriber connection to its backend works, else 0.",
	})
)
