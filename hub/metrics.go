package hub

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricConnections = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_connections", Help: "Open WebSocket connections."})
	metricCommands = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_commands_total", Help: "Commands received from clients."})
	metricJoins = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_joins_total", Help: "Successful room joins."})
	metricMessagesIn = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_messages_in_total", Help: "send commands received."})
	metricFanout = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_deliveries_total", Help: "Events handed to connection queues."})
	metricEventsOut = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_messages_out_total", Help: "Events written to sockets."})
	metricQueueDrops = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_queue_drops_total", Help: "Connections closed because their send queue overflowed."})
	metricWriteHandoffs = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_ws_write_handoffs_total", Help: "Room flushes that found a member's socket full and left the rest to a writer goroutine."})
	metricReorders = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_holdback_reorders_total", Help: "Messages that arrived ahead of a gap and were held back."})
	metricHoldbackWait = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "haven_holdback_wait_seconds",
		Help:    "How long a hole in a room's seq stream stayed open while later messages waited behind it.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1}})
	metricFlushWave = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "haven_flush_wave_seconds",
		Help:    "How long a room's flush took to write its waiting events to every local member.",
		Buckets: []float64{.0001, .0005, .001, .002, .005, .01, .02, .05, .1, .2, .5}})
	metricDuplicates = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_holdback_duplicates_total", Help: "Messages delivered twice by the broker and dropped."})
	metricGapFills = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_gap_fills_total", Help: "Gaps in a room's stream closed by reading the store."})
	metricParked = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_reader_parks_total", Help: "Times an idle connection's reader left and its socket went to the poller."})
	metricBrokerRecoveries = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_broker_recoveries_total", Help: "Broker reconnects after which rooms were recovered from the store."})
)
