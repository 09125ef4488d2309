// Package store keeps the inventory and the sync logs in MySQL (MariaDB) or,
// for a laptop with nothing installed, in an SQLite file, through gorm.
package store

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DefaultSQLiteFile is the database used when DATABASE_URL is unset.
const DefaultSQLiteFile = "expiry-sync.db"

//go:embed migrations
var migrations embed.FS

// Store is the project's only door to the database.
type Store struct {
	db        *gorm.DB
	dialect   goose.Dialect
	file      string        // SQLite's database file
	snapshots snapshotCache // staged tags this worker has read, by sync
	renewals  atomic.Bool   // the renewal tables exist (hasRenewals)
}

// Open connects to the database that databaseURL names and checks it answers.
// It does not migrate: the worker does that once at start (Migrate).
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	dialector, dialect, err := parseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Second) },
	})
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", Redact(databaseURL), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == goose.DialectSQLite3 {
		// One connection: SQLite has one writer, and this avoids "database is locked".
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
	}
	s := &Store{db: db, dialect: dialect, file: sqliteFile(databaseURL)}
	if err := s.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("database %s does not answer: %w", Redact(databaseURL), err)
	}
	return s, nil
}

// Ping checks the database answers within ctx.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Dialect names the database kind: "mysql" or "sqlite3".
func (s *Store) Dialect() string { return string(s.dialect) }

// DB exposes the gorm handle to tests and reports in this module.
func (s *Store) DB() *gorm.DB { return s.db }

// Migrate applies the versioned migrations that are not applied yet, under
// a lock that workers starting together share (migrate_lock.go). goose
// takes it only when some are pending: the usual start neither waits nor
// creates the lock table.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.migrations()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// MigrationVersion returns the database's migration version and the latest
// one this build knows, without migrating (for `worker check`).
func (s *Store) MigrationVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

func (s *Store) migrations() (*goose.Provider, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	dir := "migrations/mysql"
	if s.dialect == goose.DialectSQLite3 {
		dir = "migrations/sqlite"
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	locked, err := s.migrateLock()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(s.dialect, sqlDB, fsys, locked)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// parseURL maps DATABASE_URL to a gorm dialector.
func parseURL(raw string) (gorm.Dialector, goose.Dialect, error) {
	if raw == "" {
		raw = "sqlite://" + DefaultSQLiteFile
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf(
			"DATABASE_URL=%s is not a URL: allowed mysql://user:pass@host:3306/db or sqlite:///path/file.db",
			Redact(raw),
		)
	}
	switch u.Scheme {
	case "mysql":
		dsn, err := mysqlDSN(u)
		if err != nil {
			return nil, "", err
		}
		return mysql.Open(dsn), goose.DialectMySQL, nil
	case "sqlite":
		path := sqliteFile(raw)
		if path == "" {
			return nil, "", errors.New("DATABASE_URL=sqlite:// names no file: allowed sqlite:///path/file.db")
		}
		dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
		return sqlite.Open(dsn), goose.DialectSQLite3, nil
	}
	return nil, "", fmt.Errorf("DATABASE_URL=%s has scheme %q: allowed mysql://user:pass@host:3306/db "+
		"or sqlite:///path/file.db", Redact(raw), u.Scheme)
}

// sqliteFile is the file a sqlite:// DATABASE_URL names ("" for others).
func sqliteFile(raw string) string {
	u, err := url.Parse(cmp.Or(raw, "sqlite://"+DefaultSQLiteFile))
	if err != nil || u.Scheme != "sqlite" {
		return ""
	}
	return u.Host + u.Path
}

func mysqlDSN(u *url.URL) (string, error) {
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" {
		return "", fmt.Errorf(
			"DATABASE_URL=%s needs a host and a database: allowed mysql://user:pass@host:3306/db",
			Redact(u.String()),
		)
	}
	c := mysqldriver.NewConfig()
	c.Net = "tcp"
	c.Addr = u.Host
	if u.Port() == "" {
		c.Addr = u.Host + ":3306"
	}
	c.DBName = db
	if u.User != nil {
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
	}
	c.ParseTime = true
	c.Loc = time.UTC
	c.Collation = "utf8mb4_unicode_ci"
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	c.Timeout = 10 * time.Second
	c.InterpolateParams = true
	for k, v := range u.Query() {
		c.Params[k] = v[0]
	}
	return c.FormatDSN(), nil
}

// Redact hides the password of a database URL for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable URL)"
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
