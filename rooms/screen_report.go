package rooms

import (
	"context"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
)

// reportedCrisis treats a member's self-harm report as a crisis finding. The screens catch
// crisis language close to their lexicon but miss much wording they were not written for
// (BENCHMARKS.md: recall 0.25 on posts written after tuning), and members read each other
// far better than a word list: the reported post's author gets the support resources, and
// moderators on every node get the same urgent alert a screened post raises, marked as
// coming from a report. The reporter is named to no one.
func (s *Service) reportedCrisis(ctx context.Context, room *Room, msg store.Message, r store.Report) {
	slug := room.Slug
	res := s.cfg.Safety
	links := res.ResourceLinks
	if links == nil {
		links = []protocol.ResourceLink{}
	}
	s.publishToUser(ctx, slug, msg.Author.ID, protocol.SafetyResources{Type: "safety.resources", Room: slug,
		Text: res.ResourcesText, Links: links})
	alertID := ids.New("ca_")
	s.toModerators(ctx, slug, protocol.SafetyCrisis{Type: "safety.crisis", AlertID: alertID, Room: slug, Seq: msg.Seq,
		Author: publicAuthor(msg.Author), Excerpt: excerpt(msg.Text), Priority: "urgent", Source: "report",
		ReportID: r.ID, At: protocol.TS(r.CreatedAt)})
	metricScreen.WithLabelValues("crisis_report").Inc()
	cctx, cancel := s.ctx(context.WithoutCancel(ctx))
	defer cancel()
	if _, err := s.st.RecordCrisisAlert(cctx, store.NewCrisisAlert{ID: alertID, RoomID: room.Info().ID,
		MessageSeq: msg.Seq, AuthorID: msg.Author.ID, Text: msg.Text, Terms: []string{"report:" + r.Category},
		At: r.CreatedAt}); err != nil {
		s.cfg.Logger.Error("record crisis alert from a report (the live alert was sent)", "alert", alertID,
			"room", slug, "seq", msg.Seq, "report", r.ID, "err", err)
	}
}
