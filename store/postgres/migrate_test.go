package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
)

// TestMigrateReviewDownUp takes a database with a report made before 00003_review through
// that migration (the report's author is filled in from its message), back down, and up
// again, and checks the store then works on it.
func TestMigrateReviewDownUp(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresURL(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("../../migrations/postgres"),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatalf("up to 2: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, email, display_name, display_name_key, password_hash, created_at)
			VALUES ('u1', 'a@example.org', 'a', 'a', 'h', now()), ('u2', 'b@example.org', 'b', 'b', 'h', now())`,
		`INSERT INTO rooms (id, slug, name, created_at) VALUES ('r1', 't1d', 'T1D', now())`,
		`INSERT INTO messages (room_id, seq, id, author_id, text, created_at) VALUES ('r1', 1, 'm1', 'u1', 'hi', now())`,
		`UPDATE rooms SET last_seq = 1`,
		`INSERT INTO reports (id, room_id, seq, reporter_id, reason, snapshot, created_at)
			VALUES ('rp1', 'r1', 1, 'u2', 'spam', 'hi', now())`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	check := func() {
		t.Helper()
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		s, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		reps, err := s.Reports(ctx, "r1", store.ReportOpen, 10)
		if err != nil || len(reps) != 1 || reps[0].AuthorID != "u1" || reps[0].Category != "other" {
			t.Fatalf("report made before the migration = %+v, %v; want author u1, category other, open", reps, err)
		}
		if _, _, err := s.HoldMessage(ctx, store.HeldMessage{ID: "h1", RoomID: "r1", Author: store.Author{ID: "u1"},
			ClientMsgID: "c1", Text: "x"}); err != nil {
			t.Fatalf("hold after migrating: %v", err)
		}
	}
	check()
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatalf("down to 2: %v", err)
	}
	if _, err := db.ExecContext(ctx, `SELECT category FROM reports`); err == nil {
		t.Fatal("reports.category survived the down migration")
	}
	if _, err := db.ExecContext(ctx, `SELECT 1 FROM held_messages`); err == nil {
		t.Fatal("held_messages survived the down migration")
	}
	check()
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down to 0: %v", err)
	}
}
