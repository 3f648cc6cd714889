// Package sqlite is Haven's embedded store: one SQLite file, pure Go (modernc.org/sqlite), no
// server to run. It suits a single node; clusters use store/postgres.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/havenhealth/haven/migrations"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/internal/groupcommit"
)

var _ store.Store = (*Store)(nil)

// Options tunes the store. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another process before
	// failing with store.ErrUnavailable. Default 5s.
	BusyTimeout time.Duration
	// QueryTimeout bounds every call that arrives without an earlier deadline. Default 5s.
	QueryTimeout time.Duration
	// MaxReaders caps the read pool. Default 4.
	MaxReaders int
	// NoGroupCommit commits every append in its own transaction instead of batching
	// concurrent appends (see appender.go); for comparison and diagnosis.
	NoGroupCommit bool
}

// Store is a store.Store on one SQLite file.
//
// SQLite allows one writer at a time, so writes go through a pool of exactly one connection:
// they queue in Go instead of spinning on SQLITE_BUSY, and a write transaction never has to
// be upgraded from a read lock (the classic WAL deadlock). Reads use a separate pool and, in
// WAL mode, never wait for the writer.
type Store struct {
	w, r    *sql.DB
	timeout time.Duration
	closed  atomic.Bool
	app     *groupcommit.Appender // nil when group commit is off
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 5 * time.Second
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = 4
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// IMMEDIATE takes the write lock at BEGIN, so a transaction never fails half-way
	// through on a lock it could not upgrade.
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrations.Up(ctx, w, "sqlite"); err != nil {
		w.Close()
		return nil, mapErr(fmt.Errorf("open sqlite %s: %w", path, err))
	}
	q.Del("_txlock")
	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s readers: %w", path, err)
	}
	r.SetMaxOpenConns(opts.MaxReaders)
	r.SetMaxIdleConns(opts.MaxReaders)
	s := &Store{w: w, r: r, timeout: opts.QueryTimeout}
	// One shard: there is one writer connection, so parallel batches would only queue.
	if !opts.NoGroupCommit {
		s.app = groupcommit.New(1, maxBatch, s.commitBatch)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the appender and closes both pools. Calls made afterwards fail with
// store.ErrUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.app != nil {
		s.app.Close() // answers every queued append before the pools go
	}
	return errors.Join(s.w.Close(), s.r.Close())
}

// Ping checks that both pools can reach the file.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	defer cancel()
	if err := s.w.PingContext(ctx); err != nil {
		return mapErr(fmt.Errorf("ping writer: %w", err))
	}
	if err := s.r.PingContext(ctx); err != nil {
		return mapErr(fmt.Errorf("ping readers: %w", err))
	}
	return nil
}

// begin applies the default timeout and refuses calls on a closed store, whose pools would
// otherwise report an unexported "database is closed" error.
func (s *Store) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if s.closed.Load() {
		return ctx, func() {}, fmt.Errorf("store closed: %w", store.ErrUnavailable)
	}
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	return ctx, cancel, nil
}

// SQLite extended result codes the store tells apart.
const (
	codeBusy         = 5
	codeLocked       = 6
	codeConstraint   = 19
	codeForeignKey   = 787
	codeUnique       = 2067
	codePrimaryKey   = 1555
	codeInterrupt    = 9
	codeIOErr        = 10
	codeCantOpen     = 14
	codeBusySnapshot = 517
)

// mapErr adds the store's sentinel to err (keeping err itself in the chain) so callers can
// use errors.Is for both.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == codeUnique || code == codePrimaryKey:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case code == codeForeignKey:
			// The room or user referred to does not exist.
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		case code&0xff == codeBusy || code&0xff == codeLocked || code&0xff == codeInterrupt ||
			code&0xff == codeIOErr || code&0xff == codeCantOpen || code == codeBusySnapshot:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	return err
}

// timeLayout is fixed-width so that stored times compare correctly as strings.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(timeLayout) }

// nullTime stores the zero time as NULL ("never").
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s.String, err)
	}
	return t, nil
}

// now is the default for a zero timestamp in a write.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

type scanner interface{ Scan(dest ...any) error }
