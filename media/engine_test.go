package media

import (
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/webrtc/v4"
)

// TestSRTPProfile: a client that offers the usual profiles gets AES-128-GCM, the cheapest
// per packet; one that offers only AES-128-CM with HMAC-SHA1-80 still receives media. Both
// are written by the direct SRTP path (srtpout.go), as is a connection on a DTLS suite
// with a SHA-384 PRF; where the client is the DTLS server the server cannot derive the
// keys, and Pion's path carries the media.
func TestSRTPProfile(t *testing.T) {
	tn, host, src := webinar(t)
	track := host.participantID() + ":video"
	for _, tc := range []struct {
		name   string
		tune   func(*webrtc.SettingEngine)
		want   string
		direct bool
	}{
		{"default", nil, "SRTP_AEAD_AES_128_GCM", true},
		{"sha1", func(se *webrtc.SettingEngine) { se.SetSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80) },
			"SRTP_AES128_CM_HMAC_SHA1_80", true},
		{"sha384", func(se *webrtc.SettingEngine) { se.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) },
			"SRTP_AEAD_AES_128_GCM", true},
		{"dtls-server", func(se *webrtc.SettingEngine) { _ = se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer) },
			"SRTP_AEAD_AES_256_GCM", false}, // the DTLS server picks the profile: Pion's first
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tn.client("att-"+tc.name, "talk", "webinar", RankMember)
			c.tune = tc.tune
			if r := c.join(); r.str("type") != "ok" {
				t.Fatalf("join: %v", r)
			}
			got := c.waitPackets(track, 0, 10, 10*time.Second)
			src.checkIntact(tc.name, got, true)
			cipher := ""
			for _, s := range c.pc.GetStats() {
				if ts, ok := s.(webrtc.TransportStats); ok {
					cipher = ts.SRTPCipher
				}
			}
			if cipher != tc.want {
				t.Fatalf("SRTP profile %q, want %q", cipher, tc.want)
			}
			direct, _ := participantOf(t, tn, "talk", "u-att-"+tc.name).out.written()
			if tc.direct != (direct >= uint64(len(got))) || !tc.direct && direct != 0 {
				t.Fatalf("%d packets written directly, %d received; direct path wanted: %v", direct, len(got), tc.direct)
			}
		})
	}
}
