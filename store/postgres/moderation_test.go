package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
)

// TestAuditTamper checks that the database itself refuses to rewrite or remove audit
// entries, and that a rewrite done behind the triggers' back is caught by the hash chain.
func TestAuditTamper(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresURL(t)
	s := open(t, dsn)
	if _, err := s.CreateRoom(ctx, store.Room{ID: "r1", Slug: "t1d", Name: "T1D"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range 3 {
		if _, err := s.ApplyModeration(ctx, store.ModerationChange{
			Audit: store.AuditEntry{RoomID: "r1", ActorID: "mod", Action: "slow_mode", Reason: "spam", At: at},
			Room:  &store.RoomPatch{SlowModeS: &i},
		}); err != nil {
			t.Fatal(err)
		}
	}

	// A separate session, as an operator's psql would be; the test runs as a superuser, so
	// only the trigger stands in the way.
	raw, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(ctx)
	for _, q := range []string{
		`UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2`,
		`DELETE FROM audit_log WHERE id = 3`,
		`TRUNCATE audit_log`,
	} {
		_, err := raw.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v, want the append-only trigger to refuse it", q, err)
		}
	}
	if bad := verify(t, s); bad != 0 {
		t.Fatalf("untouched chain fails at %d", bad)
	}

	for _, q := range []string{
		`DROP TRIGGER audit_log_no_change ON audit_log`,
		`UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2`,
	} {
		if _, err := raw.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if bad := verify(t, s); bad != 2 {
		t.Fatalf("VerifyChain after editing entry 2 = %d, want 2", bad)
	}
}

func verify(t *testing.T, s *postgres.Store) int64 {
	t.Helper()
	es, err := s.AuditChain(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("chain has %d entries, want 3", len(es))
	}
	return store.VerifyChain(make([]byte, 32), es)
}
