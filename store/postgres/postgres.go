// Package postgres is Haven's clustered store on PostgreSQL, through pgx.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/stdlib"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/havenhealth/haven/migrations"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/internal/groupcommit"
)

var _ store.Store = (*Store)(nil)

// Options tunes the store. The zero value is ready to use.
type Options struct {
	// QueryTimeout bounds every call that arrives without an earlier deadline. Default 5s.
	QueryTimeout time.Duration
	// MaxConns caps the connection pool. Default 16.
	MaxConns int
	// NoGroupCommit commits every append in its own transaction instead of batching
	// concurrent appends (see appender.go); for comparison and diagnosis.
	NoGroupCommit bool
}

// Store is a store.Store on PostgreSQL.
//
// Queries go through database/sql with pgx's stdlib driver: the same *sql.DB serves goose's
// migrations and the store, and database/sql's pool bounds connections (Options.MaxConns).
type Store struct {
	db      *sql.DB
	timeout time.Duration
	closed  atomic.Bool
	app     *groupcommit.Appender // nil when group commit is off
}

// Open connects to dsn and applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 5 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	db, err := openDB(dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, timeout: opts.QueryTimeout}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := migrations.Up(ctx, db, "postgres"); err != nil {
		db.Close()
		return nil, mapErr(fmt.Errorf("open postgres: %w", err))
	}
	if !opts.NoGroupCommit {
		// A room always lands on the same shard, so its appends never wait on each other's
		// row lock in this process; shards let busy rooms commit in parallel while leaving
		// most connections to readers.
		s.app = groupcommit.New(min(max(opts.MaxConns/4, 1), 8), maxBatch, s.commitBatch)
	}
	return s, nil
}

// Migrate applies pending migrations to the database at dsn; `haven migrate` runs it.
func Migrate(ctx context.Context, dsn string) error {
	db, err := openDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrations.Up(ctx, db, "postgres"); err != nil {
		return mapErr(err)
	}
	return nil
}

func openDB(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password; pgx's parse errors redact it.
		return nil, fmt.Errorf("open postgres: parse dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return stdlib.OpenDB(*cfg), nil
}

// Close closes the pool. Calls made afterwards fail with store.ErrUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.app != nil {
		s.app.Close() // answers every queued append before the pool goes
	}
	return s.db.Close()
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return mapErr(fmt.Errorf("ping: %w", err))
	}
	return nil
}

// begin applies the default timeout and refuses calls on a closed store.
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

// mapErr adds the store's sentinel to err (keeping err itself in the chain) so callers can
// use errors.Is for both.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case pe.Code == "23503": // foreign_key_violation: the room or user does not exist
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),       // insufficient resources (too many connections, ...)
			strings.HasPrefix(pe.Code, "57P"),      // operator intervention: shutting down, cannot connect now
			pe.Code == "57014",                     // query_canceled (statement timeout)
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock: retryable
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// unavailable recognises failures to reach or keep talking to the server.
func unavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "database is closed") || strings.Contains(err.Error(), "conn closed") ||
		strings.Contains(err.Error(), "bad connection")
}

// ts is how times go in: UTC, at the microsecond precision PostgreSQL keeps.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

type scanner interface{ Scan(dest ...any) error }

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
