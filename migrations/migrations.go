// Package migrations holds Haven's schema, one goose SQL directory per backend, embedded in
// the binary so a server can migrate its own database at start.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Up applies every pending migration for dialect ("sqlite" or "postgres") to db.
//
// It builds its own goose.Provider rather than using goose's package globals, so concurrent
// callers (parallel tests, several stores in one process) cannot race on shared settings.
// On PostgreSQL a session advisory lock serialises nodes that start at the same moment.
func Up(ctx context.Context, db *sql.DB, dialect string) error {
	var (
		gd   goose.Dialect
		opts = []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	)
	switch dialect {
	case "sqlite":
		gd = goose.DialectSQLite3
	case "postgres":
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrate %s: session locker: %w", dialect, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return fmt.Errorf("migrate: unknown dialect %q", dialect)
	}
	dir, err := fs.Sub(files, dialect)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", dialect, err)
	}
	p, err := goose.NewProvider(gd, db, dir, opts...)
	if err != nil {
		return fmt.Errorf("migrate %s: new provider: %w", dialect, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: up: %w", dialect, err)
	}
	return nil
}
