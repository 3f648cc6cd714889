package rooms

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

func TestConsentStep(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, store.NewUser{ID: "u1", Email: "u1@example.org", DisplayName: "u1", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	draft := func() *Draft {
		m := &Member{Room: &Room{Slug: "t", info: store.Room{ID: "r1", Slug: "t"}}, User: u}
		return &Draft{ctx: ctx, Member: m, Text: "hello", Now: time.Now()}
	}
	check := func(t *testing.T, s *Service, want Verdict, code string) *protocol.Error {
		t.Helper()
		v, perr := s.consentStep(draft())
		if v != want || (code == "" && perr != nil) || (code != "" && (perr == nil || perr.Code != code)) {
			t.Fatalf("verdict %v error %v; want %v %q", v, perr, want, code)
		}
		return perr
	}
	grant := func(t *testing.T, version int) {
		t.Helper()
		if _, err := st.GrantConsent(ctx, u.ID, store.ConsentHealthData, version, time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("not required", func(t *testing.T) {
		check(t, New(st, broker.NewMemory(), Config{}), Allow, "")
	})
	s := New(st, broker.NewMemory(), Config{Consent: ConsentPolicy{Version: 2, Text: "I agree."}})
	t.Run("missing", func(t *testing.T) {
		perr := check(t, s, Reject, CodeConsentRequired)
		if perr.Extra["kind"] != store.ConsentHealthData || perr.Extra["version"] != 2 || perr.Extra["text"] != "I agree." {
			t.Fatalf("extra = %v", perr.Extra)
		}
	})
	t.Run("older version", func(t *testing.T) {
		grant(t, 1)
		check(t, s, Reject, CodeConsentRequired)
	})
	t.Run("current version", func(t *testing.T) {
		grant(t, 2)
		check(t, s, Allow, "")
	})
	t.Run("withdrawn", func(t *testing.T) {
		if _, err := st.WithdrawConsent(ctx, u.ID, store.ConsentHealthData, time.Now()); err != nil {
			t.Fatal(err)
		}
		check(t, s, Reject, CodeConsentRequired)
	})
	t.Run("default text", func(t *testing.T) {
		perr := check(t, New(st, broker.NewMemory(), Config{Consent: ConsentPolicy{Version: 1}}), Reject, CodeConsentRequired)
		if perr.Extra["text"] != DefaultConsentText {
			t.Fatalf("text = %v", perr.Extra["text"])
		}
	})
	t.Run("store down fails closed", func(t *testing.T) {
		st.Close()
		check(t, s, Reject, protocol.CodeUnavailable)
	})
}
