package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/store"
)

// TestAECaseImmutable checks at the database level what no API may do: change a case's
// snapshot or delete (or truncate) cases. It also checks the legal hold on the message and
// that the author's user row can go (account erasure) while the case stays.
func TestAECaseImmutable(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresURL(t)
	s := open(t, dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	raw := stdlib.OpenDB(*cfg)
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
		{"text", `UPDATE ae_cases SET text = 'edited' WHERE id = $1`, "immutable"},
		{"aware_at", `UPDATE ae_cases SET aware_at = now() WHERE id = $1`, "immutable"},
		{"author", `UPDATE ae_cases SET author_id = 'u2' WHERE id = $1`, "immutable"},
		{"delete", `DELETE FROM ae_cases WHERE id = $1`, "cannot be deleted"},
		{"truncate", `TRUNCATE ae_cases CASCADE`, "cannot be deleted"},
	} {
		args := []any{id}
		if tc.name == "truncate" {
			args = nil
		}
		if _, err := raw.ExecContext(ctx, tc.stmt, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := raw.ExecContext(ctx, `UPDATE ae_cases SET status = 'forwarded', text = text WHERE id = $1`, id); err != nil {
		t.Fatalf("status update: %v", err)
	}

	held, err := s.OpenAECase(ctx, store.NewAECase{RoomID: r.ID, HeldID: "h1", AuthorID: "u2", Text: "held", AwareAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `DELETE FROM users WHERE id = 'u2'`); err != nil {
		t.Fatalf("delete the author's account: %v", err)
	}
	for want, cid := range map[string]string{"held": held, m.Text: id} {
		c, err := s.AECase(ctx, cid)
		if err != nil || c.Text != want {
			t.Fatalf("case %s = %+v, %v", cid, c, err)
		}
	}
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM ae_cases`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("cases = %d, %v", n, err)
	}
}
