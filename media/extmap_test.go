package media

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
)

// serverOfferExtensions are the header extensions a browser needs in the server's offers:
// after server-first negotiation (an attendee who is offered tracks before publishing),
// the extensions of the first answer are the connection's, so simulcast (mid, rid,
// repaired-rid) and congestion control (transport-cc, abs-send-time) must be there.
var serverOfferExtensions = []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI,
	sdp.TransportCCURI, sdp.ABSSendTimeURI}

// TestSimulcastAfterServerOffer: a second host joins a running webinar, so the server
// offers first; its offer carries the extensions above, and the host can then publish a
// simulcast camera whose layers an attendee receives and switches between.
func TestSimulcastAfterServerOffer(t *testing.T) {
	tn, _, _ := webinar(t)
	pres := tn.client("pres", "talk", "webinar", RankHost)
	pres.hold.Store(true)
	if r := pres.join(); r.str("type") != "ok" {
		t.Fatalf("presenter join: %v", r)
	}
	var offer string
	select {
	case offer = <-pres.held:
	case <-time.After(10 * time.Second):
		t.Fatal("no server offer to the presenter")
	}
	var parsed sdp.SessionDescription
	if err := parsed.Unmarshal([]byte(offer)); err != nil {
		t.Fatalf("server offer: %v", err)
	}
	for _, md := range parsed.MediaDescriptions {
		have := map[string]bool{}
		for _, a := range md.Attributes {
			if a.Key == "extmap" {
				if f := strings.Fields(a.Value); len(f) >= 2 {
					have[f[1]] = true
				}
			}
		}
		for _, uri := range serverOfferExtensions {
			if md.MediaName.Media == "audio" && (uri == sdp.SDESRTPStreamIDURI || uri == sdp.SDESRepairRTPStreamIDURI || uri == sdp.ABSSendTimeURI) {
				continue // rids are video's; abs-send-time too (audio is estimated with it)
			}
			if !have[uri] {
				t.Errorf("server offer's %s m-line lacks extmap %s:\n%s", md.MediaName.Media, uri, offer)
			}
		}
	}
	go pres.answerOffer(offer)
	pres.release()

	// Now the presenter publishes three layers on a transceiver of its own.
	src := newSource(t, pres, []string{"q", "h", "f"}, false)
	if r := pres.offer(src.kinds()); r.str("type") != "ok" {
		t.Fatalf("simulcast offer after the server's: %v", r)
	}
	src.start()
	if src.midID == 0 || src.ridID == 0 {
		t.Fatalf("the presenter's connection negotiated no mid/rid extension (mid %d, rid %d)", src.midID, src.ridID)
	}
	sub := attendee(t, tn, "sub")
	track := pres.participantID() + ":video"
	sub.waitLayer(track, 2, 15*time.Second)
	stop := sub.sendREMB(track, 60_000)
	defer close(stop)
	sub.waitLayer(track, 0, 10*time.Second)
}
