package media

import (
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/webrtc/v4"
)

// TestSRTPProfile: a client that offers the usual profiles gets AES-128-GCM, the cheapest
// per packet; one that offers only AES-128-CM with HMAC-SHA1-80 still receives media.
func TestSRTPProfile(t *testing.T) {
	tn, host, src := webinar(t)
	track := host.participantID() + ":video"
	for _, tc := range []struct {
		name     string
		profiles []dtls.SRTPProtectionProfile
		want     string
	}{
		{"default", nil, "SRTP_AEAD_AES_128_GCM"},
		{"sha1", []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}, "SRTP_AES128_CM_HMAC_SHA1_80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tn.client("att-"+tc.name, "talk", "webinar", RankMember)
			c.srtpProfiles = tc.profiles
			if r := c.join(); r.str("type") != "ok" {
				t.Fatalf("join: %v", r)
			}
			src.checkIntact(tc.name, c.waitPackets(track, 0, 10, 10*time.Second), true)
			got := ""
			for _, s := range c.pc.GetStats() {
				if ts, ok := s.(webrtc.TransportStats); ok {
					got = ts.SRTPCipher
				}
			}
			if got != tc.want {
				t.Fatalf("SRTP profile %q, want %q", got, tc.want)
			}
		})
	}
}
