package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/havenhealth/haven/store"
)

func testReviewReports(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	r, other := mkRoom(t, s, "reports"), mkRoom(t, s, "reports2")
	author, reporter := mkUser(t, s, "reported"), mkUser(t, s, "reporter")
	m := post(t, s, r, author, "c1", "bad advice")
	report := func(id, category string, at time.Time) (store.Report, error) {
		return s.CreateReport(ctx, store.Report{ID: id, RoomID: r.ID, Seq: m.Seq, ReporterID: reporter.ID,
			Category: category, Reason: "why", CreatedAt: at})
	}
	a, err := report("rp-a", "", t0.Add(time.Second))
	if err != nil || a.Category != "other" || a.AuthorID != author.ID || a.Status != store.ReportOpen || a.Snapshot != "bad advice" {
		t.Fatalf("report without category = %+v, %v; want other, open, with the author", a, err)
	}
	b, err := report("rp-b", "misinformation", t0)
	if err != nil || b.Category != "misinformation" {
		t.Fatalf("report with category = %+v, %v", b, err)
	}
	if _, err := report("rp-c", "gossip", t0); err == nil {
		t.Fatal("report with an unknown category was stored")
	}
	got, err := s.Reports(ctx, r.ID, store.ReportOpen, 10)
	if err != nil || len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("open reports = %+v, %v; want rp-b then rp-a, as created", got, err)
	}

	for _, status := range []string{"", store.ReportOpen, "closed"} {
		refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "resolve_report"},
			ReportID: a.ID, ReportStatus: status}, nil, fmt.Sprintf("resolve with status %q", status))
	}
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: other.ID, Action: "resolve_report"},
		ReportID: a.ID, ReportStatus: store.ReportDismissed}, store.ErrNotFound, "resolve in another room")
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "resolve_report"},
		ReportID: "rp-none", ReportStatus: store.ReportDismissed}, store.ErrNotFound, "resolve an unknown report")

	at := t0.Add(time.Hour)
	moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, ActorID: "mod-3", Action: "resolve_report", At: at},
		ReportID: a.ID, ReportStatus: store.ReportDismissed})
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "resolve_report"},
		ReportID: a.ID, ReportStatus: store.ReportActioned}, store.ErrConflict, "resolve a closed report")
	moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{RoomID: r.ID, Action: "resolve_report", At: at},
		ReportID: b.ID, ReportStatus: store.ReportActioned})

	if got, err := s.Reports(ctx, r.ID, store.ReportOpen, 10); err != nil || len(got) != 0 {
		t.Fatalf("open reports after resolving = %+v, %v", got, err)
	}
	all, err := s.Reports(ctx, r.ID, "", 10)
	if err != nil || len(all) != 2 {
		t.Fatalf("all reports = %+v, %v", all, err)
	}
	if d := all[1]; d.ID != a.ID || d.Status != store.ReportDismissed || d.ResolvedBy != "mod-3" ||
		!d.ResolvedAt.Equal(at.Truncate(time.Microsecond)) || d.ResolvedAt.Location() != time.UTC {
		t.Fatalf("dismissed report = %+v", d)
	}
	if got, err := s.Reports(ctx, r.ID, store.ReportActioned, 1); err != nil || len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("actioned reports = %+v, %v", got, err)
	}
	if n := auditLen(t, s); n != 2 {
		t.Fatalf("audit log has %d entries, want the 2 resolutions", n)
	}
}

func testUserRoleAudited(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := mkUser(t, s, "promoted")
	e := moderate(t, s, store.ModerationChange{
		Audit:    store.AuditEntry{TargetID: u.ID, ActorID: "admin", Action: "role", Detail: `{"role":"clinician","verified":true}`},
		UserRole: ptr(store.RoleClinician), Verified: ptr(true),
	})
	if got, err := s.UserByID(ctx, u.ID); err != nil || got.Role != store.RoleClinician || !got.Verified {
		t.Fatalf("after role change: %+v, %v", got, err)
	}
	moderate(t, s, store.ModerationChange{Audit: store.AuditEntry{TargetID: u.ID, ActorID: "admin", Action: "role"},
		Verified: ptr(false)})
	if got, _ := s.UserByID(ctx, u.ID); got.Role != store.RoleClinician || got.Verified {
		t.Fatalf("after unverifying: %+v (the role must be kept)", got)
	}
	refused(t, s, store.ModerationChange{Audit: store.AuditEntry{TargetID: "ghost", Action: "role"},
		UserRole: ptr(store.RoleModerator)}, store.ErrNotFound, "role of an unknown user")
	es := verifyAll(t, s)
	if len(es) != 2 || !sameEntry(es[0], e) || es[0].RoomID != "" || es[0].TargetID != u.ID {
		t.Fatalf("audit = %+v; want two deployment-wide entries", es)
	}
	if log, err := s.AuditLog(ctx, "", 0, 10); err != nil || len(log) != 2 {
		t.Fatalf("AuditLog(all) = %+v, %v", log, err)
	}
}
