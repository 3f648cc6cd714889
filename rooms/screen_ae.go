package rooms

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
)

var (
	metricScreen = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "haven_screen_findings_total",
		Help: "Posts and edits the safety screens acted on, by outcome (crisis, ae_case, ae_case_lost: logged for entry by hand).",
	}, []string{"outcome"})
	metricAEPending = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "haven_ae_cases_pending",
		Help: "Adverse-event cases this node is still trying to store (lost if it stops; each is in the log).",
	})
)

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

// storedAECase is the case of d's adverse-event findings to store with the post (its
// message ID, or "" when it is held), or nil when there are none: a case stored in the
// post's own transaction cannot be lost between the two.
func storedAECase(d *Draft, messageID string) *store.NewAECase {
	if len(d.screen.adverse) == 0 {
		return nil
	}
	c := aeCase(d, store.Message{ID: messageID}, "")
	c.ID = ids.New("ae_")
	return &c
}

// aeCaseStored notes that the post's case was stored with it, so afterScreen opens none.
func aeCaseStored(d *Draft) {
	d.screen.aeStored = true
	metricScreen.WithLabelValues("ae_case").Inc()
}

// openAECase opens the case of an edit, whose message was stored before (a new post's case
// is stored with it: storedAECase). It tries once in line, so the case exists when the
// sender hears back. A failure is retried in the background until the case is stored, the
// delay doubling from AERetryDelay up to aeRetryCap, so that a store outage of any length
// loses no case while this node runs. After AERetries failed tries the whole case is logged
// at error level: the record to enter by hand if the node stops before the store is back.
// It has its ID from the start, so a try that failed after all (a timeout) is found on the
// next one rather than stored twice, and a case entered by hand under the logged ID is not
// duplicated.
func (s *Service) openAECase(ctx context.Context, d *Draft, msg store.Message, heldID string) {
	c := aeCase(d, msg, heldID)
	c.ID = ids.New("ae_")
	ctx = context.WithoutCancel(ctx)
	err := s.tryAECase(ctx, c)
	if err == nil {
		return
	}
	log := s.cfg.Logger.With("room", d.Member.Room.Slug, "case_id", c.ID)
	if errors.Is(err, store.ErrNotFound) {
		aeCaseNotOpened(log, c, err, "adverse-event case NOT opened: enter it by hand") // no retry will find the room
		return
	}
	log.Warn("open adverse-event case; retrying", "seq", c.MessageSeq, "held_id", heldID, "err", err)
	logAfter, delay := s.cfg.Safety.AERetries, s.cfg.Safety.AERetryDelay
	if logAfter == 0 {
		logAfter = 5
	}
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	metricAEPending.Inc()
	go func() {
		defer metricAEPending.Dec()
		for try := 1; ; try++ {
			time.Sleep(delay)
			delay = min(2*delay, aeRetryCap)
			err := s.tryAECase(ctx, c)
			switch {
			case err == nil:
				if try > logAfter {
					log.Warn("adverse-event case opened late: do not enter it by hand", "tries", try+1)
				}
				return
			case errors.Is(err, store.ErrNotFound):
				aeCaseNotOpened(log, c, err, "adverse-event case NOT opened: enter it by hand")
				return
			case try == logAfter:
				aeCaseNotOpened(log, c, err, "adverse-event case not opened yet, still retrying: "+
					"enter it by hand if this node stops before it is stored")
			}
		}
	}()
}

// aeRetryCap is the longest wait between tries to open a case.
const aeRetryCap = time.Minute

// aeCaseNotOpened logs the whole case, for entry by hand.
func aeCaseNotOpened(log *slog.Logger, c store.NewAECase, err error, msg string) {
	metricScreen.WithLabelValues("ae_case_lost").Inc()
	log.Error(msg, "room_id", c.RoomID, "message_id", c.MessageID,
		"seq", c.MessageSeq, "held_id", c.HeldID, "author", c.AuthorID, "aware_at", c.AwareAt,
		"products", c.Products, "reactions", c.Reactions, "terms", c.Terms, "text", c.Text, "err", err)
}

// tryAECase stores c. ErrConflict can only be c's own ID: an earlier try that reported a
// failure stored it after all.
func (s *Service) tryAECase(ctx context.Context, c store.NewAECase) error {
	cctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.st.OpenAECase(cctx, c); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	metricScreen.WithLabelValues("ae_case").Inc()
	return nil
}
