package rooms

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

var metricScreen = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "haven_screen_findings_total",
	Help: "Posts and edits the safety screens acted on, by outcome (crisis; crisis_model: found by the crisis model alone; crisis_report: a self-harm report; ae_case).",
}, []string{"outcome"})

// storedAECase is the case of d's adverse-event findings to store with the post or edit
// (its message ID, or "" when it is held), or nil when there are none: the original text as
// received (before any redaction), awareness at server receipt. A case stored in the
// post's own transaction cannot be lost between the two, and a store that fails refuses
// the post, which the client sends again.
func (s *Service) storedAECase(d *Draft, messageID string) *store.NewAECase {
	if len(d.screen.adverse) == 0 {
		return nil
	}
	c := &store.NewAECase{ID: ids.New("ae_"), RoomID: d.Member.Room.Info().ID, MessageID: messageID,
		AuthorID: d.Member.User.ID, Text: d.screen.original, AwareAt: d.Now}
	add := func(list []string, v string) []string {
		if v == "" || slices.Contains(list, v) {
			return list
		}
		return append(list, v)
	}
	for _, f := range d.screen.adverse {
		c.Products = add(c.Products, f.Product)
		c.Reactions = add(c.Reactions, f.Term)
		if f.Start >= 0 && f.Start < f.End && f.End <= len(d.screen.original) {
			c.Terms = add(c.Terms, d.screen.original[f.Start:f.End])
		}
	}
	if s.cfg.PrepareAECase != nil {
		*c = s.cfg.PrepareAECase(*c)
	}
	return c
}

// aeCaseStored counts a case stored with its post, hold or edit.
func aeCaseStored() { metricScreen.WithLabelValues("ae_case").Inc() }
