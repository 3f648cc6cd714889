package rooms

import (
	"context"

	"github.com/havenhealth/haven/store"
)

// reportedCrisis treats a member's self-harm report as a crisis finding. The screens catch
// crisis language close to their lexicon but miss much wording they were not written for
// (BENCHMARKS.md: recall 0.25 on posts written after tuning), and members read each other
// far better than a word list: the reported post's author gets the support resources, and
// moderators on every node get the same urgent alert a screened post raises, marked as
// coming from a report. The reporter is named to no one.
func (s *Service) reportedCrisis(ctx context.Context, room *Room, msg store.Message, r store.Report) {
	s.raiseCrisis(ctx, room, crisis{authorID: msg.Author.ID, author: publicAuthor(msg.Author), text: msg.Text,
		seq: msg.Seq, source: "report", report: r.ID, terms: []string{"report:" + r.Category}, at: r.CreatedAt,
		metric: "crisis_report"})
}
