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

// TestAuditTamper checks that the database itself refuses to rewrite or remove audit
// entries, and that a rewrite done behind the triggers' back is caught by the hash chain.
func TestAuditTamper(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "haven.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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

	// A second connection, as an operator's sqlite3 shell would be.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2`,
		`DELETE FROM audit_log WHERE id = 3`,
		`DELETE FROM audit_log`,
	} {
		_, err := raw.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v, want the append-only trigger to refuse it", q, err)
		}
	}
	if bad := verify(t, s); bad != 0 {
		t.Fatalf("untouched chain fails at %d", bad)
	}

	for _, q := range []string{
		`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if bad := verify(t, s); bad != 2 {
		t.Fatalf("VerifyChain after editing entry 2 = %d, want 2", bad)
	}
}

func verify(t *testing.T, s *sqlite.Store) int64 {
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
