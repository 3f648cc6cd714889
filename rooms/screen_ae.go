package rooms

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/havenhealth/haven/store"
)

var metricScreen = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "haven_screen_findings_total",
	Help: "Posts and edits the safety screens acted on, by outcome (crisis, ae_case, ae_case_lost).",
}, []string{"outcome"})

// aeCase is the case a post with adverse-event findings opens: the original text as
// received (before any redaction), awareness at server receipt.
func aeCase(d *Draft, msg store.Message, heldID string) store.NewAECase {
	c := store.NewAECase{RoomID: d.Member.Room.Info().ID, MessageID: msg.ID, MessageSeq: msg.Seq, HeldID: heldID,
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
	return c
}

// openAECase opens the case once in line, so it exists when the sender hears back. A
// failure is retried in the background (AERetries times, the delay doubling), and when
// every try fails the whole case is logged at error level so that it can be entered by
// hand: a lost case is a missed regulatory report. Retries do not survive a restart of
// this node; that is the documented limit.
func (s *Service) openAECase(ctx context.Context, d *Draft, msg store.Message, heldID string) {
	c := aeCase(d, msg, heldID)
	ctx = context.WithoutCancel(ctx)
	err := s.tryAECase(ctx, c)
	if err == nil {
		return
	}
	s.cfg.Logger.Warn("open adverse-event case; retrying", "room", d.Member.Room.Slug, "seq", c.MessageSeq,
		"held_id", heldID, "err", err)
	retries, delay := s.cfg.Safety.AERetries, s.cfg.Safety.AERetryDelay
	if retries == 0 {
		retries = 5
	}
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	slug := d.Member.Room.Slug
	go func() {
		var err error
		for i := range retries {
			time.Sleep(delay << i)
			if err = s.tryAECase(ctx, c); err == nil {
				return
			}
		}
		metricScreen.WithLabelValues("ae_case_lost").Inc()
		s.cfg.Logger.Error("adverse-event case NOT opened: enter it by hand", "room", slug,
			"room_id", c.RoomID, "message_id", c.MessageID, "seq", c.MessageSeq, "held_id", c.HeldID,
			"author", c.AuthorID, "aware_at", c.AwareAt, "products", c.Products, "reactions", c.Reactions,
			"terms", c.Terms, "text", c.Text, "err", err)
	}()
}

func (s *Service) tryAECase(ctx context.Context, c store.NewAECase) error {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.st.OpenAECase(cctx, c); err != nil {
		return err
	}
	metricScreen.WithLabelValues("ae_case").Inc()
	return nil
}
