package media

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Drop reasons: why a packet did not reach a subscriber.
const (
	dropQueueFull = "queue_full" // the subscriber's writer fell behind
	dropMuted     = "muted"      // a host muted the source
	dropLayer     = "layer"      // waiting for a keyframe on the subscriber's layer
	dropRTX       = "retransmit" // a NACKed packet not resent: the subscriber's queue is congested
	dropSend      = "send_error" // the kernel refused the packet (sendbatch.go)
)

var (
	metricSessions = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_media_sessions", Help: "Media sessions owned by this node."})
	metricParticipants = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_media_participants", Help: "Participants with a peer connection on this node."})
	metricTracks = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_media_tracks", Help: "Published tracks being forwarded on this node."})
	metricBytesIn = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_media_bytes_in_total", Help: "RTP bytes received from publishers (rate() is the inbound bitrate)."})
	metricBytesOut = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_media_bytes_out_total", Help: "RTP bytes sent to subscribers (rate() is the outbound bitrate)."})
	metricBitrate = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "haven_media_bitrate_bps", Help: "RTP bitrate over the last second, by direction."}, []string{"direction"})
	metricDrops = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_media_packet_drops_total", Help: "RTP packets not forwarded to a subscriber, by reason."}, []string{"reason"})
	metricConnections = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_media_connections_total", Help: "Peer connections established, by the path of the RTP sent on them: direct (encrypted and written to the UDP socket by Haven) or pion (DTLS client role, TCP)."}, []string{"path"})
	metricNACKs = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_media_nacks_total", Help: "Packets subscribers asked to have retransmitted (NACKed)."})
	metricPLIs = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_media_plis_total", Help: "Keyframe requests: received from subscribers, and sent to publishers."}, []string{"direction"})
	metricLayerSwitches = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_media_layer_switches_total", Help: "Simulcast layer switches made for subscribers (on keyframes)."})
	twccFeedback = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_media_twcc_feedback_total", Help: "Transport-wide congestion control feedback reports from subscribers fed to their bandwidth estimates."})
	metricLayerProbes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "haven_media_layer_probes_total", Help: "Simulcast steps up tried above a subscriber's TWCC estimate while it showed no congestion."})
	metricControl = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_media_control_total", Help: "Media control actions applied, by action."}, []string{"action"})
	metricBatched = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_media_batched_total",
		Help: "RTP packets the fan-out sent in batches (unit=packets), and the messages they went in (unit=messages): a subscriber's share of a video frame goes as one segmented message, so fewer messages than packets means UDP segmentation is working."}, []string{"unit"})
)

// Pre-resolved children: the forwarding path must not look labels up per packet.
var (
	dropsQueueFull  = metricDrops.WithLabelValues(dropQueueFull)
	dropsMuted      = metricDrops.WithLabelValues(dropMuted)
	dropsLayer      = metricDrops.WithLabelValues(dropLayer)
	dropsRetransmit = metricDrops.WithLabelValues(dropRTX)
	dropsSend       = metricDrops.WithLabelValues(dropSend)
	plisIn          = metricPLIs.WithLabelValues("from_subscriber")
	plisOut         = metricPLIs.WithLabelValues("to_publisher")
	bitrateIn       = metricBitrate.WithLabelValues("in")
	bitrateOut      = metricBitrate.WithLabelValues("out")
	batchedPackets  = metricBatched.WithLabelValues("packets")
	batchedMessages = metricBatched.WithLabelValues("messages")
)
