package rooms_test

import (
	"context"
	"testing"

	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/store"
)

// A member's self-harm report raises the same urgent alert as a screened crisis post, for
// wording the screens miss; other report categories do not.
func TestSelfHarmReportRaisesCrisisAlert(t *testing.T) {
	f := newScreenFixture(t, "")
	text := "Sorted out who gets my guitar and the cat this week, it finally feels like the right time"
	msg, err := f.svc.Post(context.Background(), f.member(t), text, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if mods := f.typed(rooms.KindModerators); len(mods) != 0 {
		t.Fatalf("the screens flagged the post; pick wording they miss: %v", mods)
	}
	bob, err := f.st.CreateUser(context.Background(), store.NewUser{ID: "u2", Email: "b@example.org", DisplayName: "bob", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	reporter, err := f.svc.Admit(context.Background(), bob, "screen", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.svc.Release(reporter)

	if _, err := f.svc.ReportMessage(context.Background(), reporter, msg.Seq, "spam", "looks like spam"); err != nil {
		t.Fatal(err)
	}
	if _, alerts := f.st.snapshot(); len(alerts) != 0 {
		t.Fatalf("a spam report raised a crisis alert: %+v", alerts)
	}
	r, err := f.svc.ReportMessage(context.Background(), reporter, msg.Seq, "self-harm", "I think they may hurt themselves")
	if err != nil {
		t.Fatal(err)
	}
	var alert map[string]any
	for _, e := range f.typed(rooms.KindModerators) {
		if e["type"] == "safety.crisis" {
			alert = e
		}
	}
	if alert == nil || alert["source"] != "report" || alert["report_id"] != r.ID || alert["priority"] != "urgent" ||
		alert["seq"] != float64(msg.Seq) || alert["author"].(map[string]any)["id"] != "u1" {
		t.Fatalf("moderator alert = %v", alert)
	}
	res := f.typed(rooms.KindToUser)
	if len(res) != 1 || res[0]["type"] != "safety.resources" || res[0]["_user"] != "u1" {
		t.Fatalf("the reported author's resources = %v", res)
	}
	if _, alerts := f.st.snapshot(); len(alerts) != 1 || alerts[0].AuthorID != "u1" || alerts[0].MessageSeq != msg.Seq {
		t.Fatalf("recorded alerts = %+v", alerts)
	}
}
