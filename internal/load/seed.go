package load

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/havenhealth/haven/internal/ids"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/postgres"
	"github.com/havenhealth/haven/store/sqlite"
)

// Seed writes members and their sessions straight into a Haven store, for load runs that
// need thousands of members: signing up goes through argon2id by design (15-30 a second
// on two cores), which would make a 10,000-member run spend most of its time signing up.
// Seeded members have bearer tokens and no password: they cannot sign in.
//
//	haven-load seed -store ./haven-data/haven.db -n 10000 -tokens /tmp/tok -history 50
func Seed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("haven-load seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("store", "", "the store: an SQLite file (the node's data dir + /haven.db) or a postgres:// URL; stop the nodes first when it is SQLite")
	n := fs.Int("n", 1000, "members to create")
	tokens := fs.String("tokens", "", "file to write the members' bearer tokens to, one a line (appended)")
	room := fs.String("room", "type-1-diabetes", "room the members accept the guidelines of (created when missing) and -history goes to")
	history := fs.Int("history", 0, "messages to append to the room, so that each join carries that much history")
	size := fs.Int("size", 200, "bytes of each history message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" || *tokens == "" || *n <= 0 {
		return errors.New("seed needs -store, -tokens and -n > 0")
	}
	var st store.Store
	var err error
	if strings.HasPrefix(*dsn, "postgres://") || strings.HasPrefix(*dsn, "postgresql://") {
		st, err = postgres.Open(ctx, *dsn, postgres.Options{})
	} else {
		st, err = sqlite.Open(ctx, *dsn, sqlite.Options{})
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	r, err := st.RoomBySlug(ctx, *room)
	if errors.Is(err, store.ErrNotFound) {
		r, err = st.CreateRoom(ctx, store.Room{Slug: *room, Name: *room, Condition: *room, Guidelines: "Be kind."})
	}
	if err != nil {
		return fmt.Errorf("room %s: %w", *room, err)
	}
	f, err := os.OpenFile(*tokens, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	run, now := runID(), time.Now()
	var first string
	for i := range *n {
		u, err := st.CreateUser(ctx, store.NewUser{ID: ids.New("u_"), Email: fmt.Sprintf("seed-%s-%d@load.example.org", run, i),
			DisplayName: fmt.Sprintf("seed %s %d", run, i), PasswordHash: "!seeded: sign in is disabled", CreatedAt: now})
		if err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
		tok := ids.Token()
		h := sha256.Sum256([]byte(tok))
		if err := st.CreateSession(ctx, store.Session{ID: ids.New("s_"), TokenHash: h[:], UserID: u.ID,
			CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}); err != nil {
			return fmt.Errorf("session of member %d: %w", i, err)
		}
		if _, err := st.AcceptGuidelines(ctx, r.ID, u.ID, r.GuidelinesVersion, now); err != nil {
			return fmt.Errorf("guidelines of member %d: %w", i, err)
		}
		fmt.Fprintln(w, tok)
		if first == "" {
			first = u.ID
		}
	}
	for i := range *history {
		text := fmt.Sprintf("seeded history %d ", i)
		text += strings.Repeat("x", max(0, *size-len(text)))
		if _, _, err := st.AppendMessage(ctx, store.NewMessage{ID: ids.New("m_"), RoomID: r.ID, AuthorID: first, Text: text}); err != nil {
			return fmt.Errorf("history message %d: %w", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d members (tokens in %s) and %d messages in %s\n", *n, *tokens, *history, *room)
	return nil
}
