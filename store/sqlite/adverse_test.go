package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

// TestAECaseImmutable checks at the database level what no API may do: change a case's
// snapshot or delete a case. It also checks the legal hold on the message and that the
// author's user row can go (account erasure) while the case stays.
func TestAECaseImmutable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "haven.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	r, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "ae", Name: "AE"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"u1", "u2"} {
		if _, err := s.CreateUser(ctx, store.NewUser{ID: id, Email: id + "@example.org", DisplayName: id, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	m, _, err := s.AppendMessage(ctx, store.NewMessage{ID: "m1", RoomID: r.ID, AuthorID: "u1", Text: "drugzol gave me a rash"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.OpenAECase(ctx, store.NewAECase{RoomID: r.ID, MessageID: m.ID, MessageSeq: m.Seq, AuthorID: "u1",
		Text: m.Text, AwareAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var hold bool
	if err := raw.QueryRowContext(ctx, `SELECT legal_hold FROM messages WHERE id = 'm1'`).Scan(&hold); err != nil || !hold {
		t.Fatalf("legal_hold = %v, %v; want true", hold, err)
	}

	for _, tc := range []struct{ name, stmt, want string }{
		{"text", `UPDATE ae_cases SET text = 'edited' WHERE id = ?`, "immutable"},
		{"aware_at", `UPDATE ae_cases SET aware_at = '2020-01-01T00:00:00.000000Z' WHERE id = ?`, "immutable"},
		{"author", `UPDATE ae_cases SET author_id = 'u2' WHERE id = ?`, "immutable"},
		{"delete", `DELETE FROM ae_cases WHERE id = ?`, "cannot be deleted"},
	} {
		if _, err := raw.ExecContext(ctx, tc.stmt, id); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// Status is not part of the snapshot; setting text to itself changes nothing.
	if _, err := raw.ExecContext(ctx, `UPDATE ae_cases SET status = 'forwarded', text = text WHERE id = ?`, id); err != nil {
		t.Fatalf("status update: %v", err)
	}

	// The author of a case whose post was held (no message row) can be erased.
	held, err := s.OpenAECase(ctx, store.NewAECase{RoomID: r.ID, HeldID: "h1", AuthorID: "u2", Text: "held", AwareAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `DELETE FROM users WHERE id = 'u2'`); err != nil {
		t.Fatalf("delete the author's account: %v", err)
	}
	c, err := s.AECase(ctx, held)
	if err != nil || c.Text != "held" || c.AuthorID != "u2" {
		t.Fatalf("case after the author's erasure = %+v, %v", c, err)
	}
	c, err = s.AECase(ctx, id)
	if err != nil || c.Text != m.Text {
		t.Fatalf("case after refused edits = %+v, %v", c, err)
	}
}
