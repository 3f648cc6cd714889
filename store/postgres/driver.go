package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// This file is a minimal database/sql driver over *pgx.Conn.
//
// Why not pgx's own stdlib package or pgxpool: in pgx v5.12 both import
// github.com/jackc/puddle/v2, which go.mod does not pin, so neither builds here. goose needs
// a *sql.DB, and database/sql gives a bounded, context-aware pool, so the store runs on this
// adapter. Once puddle is pinned it can be swapped for stdlib.OpenDB without touching the
// queries. It supports exactly what the store and goose use: Exec, Query, transactions and
// Ping; no prepared statements.

type connector struct{ cfg *pgx.ConnConfig }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	pc, err := pgx.ConnectConfig(ctx, c.cfg.Copy())
	if err != nil {
		return nil, err
	}
	return &conn{pc: pc}, nil
}

func (c connector) Driver() driver.Driver { return pgDriver{} }

type pgDriver struct{}

func (pgDriver) Open(dsn string) (driver.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return connector{cfg}.Connect(context.Background())
}

type conn struct{ pc *pgx.Conn }

var (
	_ driver.QueryerContext    = (*conn)(nil)
	_ driver.ExecerContext     = (*conn)(nil)
	_ driver.ConnBeginTx       = (*conn)(nil)
	_ driver.Pinger            = (*conn)(nil)
	_ driver.SessionResetter   = (*conn)(nil)
	_ driver.Validator         = (*conn)(nil)
	_ driver.NamedValueChecker = (*conn)(nil)
)

func (c *conn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("postgres driver: prepared statements are not supported")
}

func (c *conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.pc.Close(ctx)
}

func (c *conn) Begin() (driver.Tx, error) { return c.BeginTx(context.Background(), driver.TxOptions{}) }

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var o pgx.TxOptions
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadCommitted:
		o.IsoLevel = pgx.ReadCommitted
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		o.IsoLevel = pgx.RepeatableRead
	case sql.LevelSerializable:
		o.IsoLevel = pgx.Serializable
	default:
		return nil, fmt.Errorf("postgres driver: isolation level %d not supported", opts.Isolation)
	}
	tx, err := c.pc.BeginTx(ctx, o)
	if err != nil {
		return nil, badConn(err)
	}
	return pgTx{tx}, nil
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Commit() error   { return t.tx.Commit(context.Background()) }
func (t pgTx) Rollback() error { return t.tx.Rollback(context.Background()) }

func (c *conn) Ping(ctx context.Context) error { return badConn(c.pc.Ping(ctx)) }

// ResetSession and IsValid keep connections that died (server restart, network) out of the
// pool instead of handing them to the next caller.
func (c *conn) ResetSession(context.Context) error {
	if c.pc.IsClosed() {
		return driver.ErrBadConn
	}
	return nil
}

func (c *conn) IsValid() bool { return !c.pc.IsClosed() }

// CheckNamedValue passes arguments through untouched: pgx encodes Go values itself.
func (c *conn) CheckNamedValue(*driver.NamedValue) error { return nil }

func args(nv []driver.NamedValue) []any {
	out := make([]any, len(nv))
	for i, v := range nv {
		out[i] = v.Value
	}
	return out
}

// badConn turns a failure that happened before anything reached the server into
// driver.ErrBadConn, which database/sql answers by retrying on another connection.
func badConn(err error) error {
	if err != nil && pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

func (c *conn) ExecContext(ctx context.Context, query string, nv []driver.NamedValue) (driver.Result, error) {
	tag, err := c.pc.Exec(ctx, query, args(nv)...)
	if err != nil {
		return nil, badConn(err)
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *conn) QueryContext(ctx context.Context, query string, nv []driver.NamedValue) (driver.Rows, error) {
	r, err := c.pc.Query(ctx, query, args(nv)...)
	if err != nil {
		return nil, badConn(err)
	}
	if err := r.Err(); err != nil {
		r.Close()
		return nil, err
	}
	fds := r.FieldDescriptions()
	cols := make([]string, len(fds))
	for i, fd := range fds {
		cols[i] = fd.Name
	}
	return &rows{r: r, cols: cols}, nil
}

type rows struct {
	r    pgx.Rows
	cols []string
}

func (r *rows) Columns() []string { return r.cols }

func (r *rows) Close() error {
	r.r.Close()
	return r.r.Err()
}

func (r *rows) Next(dest []driver.Value) error {
	if !r.r.Next() {
		if err := r.r.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	vals, err := r.r.Values()
	if err != nil {
		return err
	}
	for i, v := range vals {
		dest[i] = toDriverValue(v)
	}
	return nil
}

// toDriverValue narrows pgx's decoded values to the types database/sql accepts.
func toDriverValue(v any) driver.Value {
	switch v := v.(type) {
	case nil, int64, float64, bool, []byte, string, time.Time:
		return v
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case int8:
		return int64(v)
	case int:
		return int64(v)
	case uint32:
		return int64(v)
	case float32:
		return float64(v)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}
