// Package testenv gives tests the real services they run against: a fresh
// MariaDB/MySQL database, an SQLite file, and the Temporal CLI's dev server.
//
// When a service is missing a test is skipped, unless EXPIRY_SYNC_REQUIRE_ALL=1
// (set by `make test` and CI), where a missing service fails the test instead.
package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"hash/crc32"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

var dbCounter atomic.Int64

// unavailable skips or fails a test whose service is missing.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireAll() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set EXPIRY_SYNC_REQUIRE_ALL=1 to fail instead)", args...)
}

// MySQLServerURL is the server the MySQL tests use (a database is created on it).
func MySQLServerURL() string {
	if u := os.Getenv("TEST_MYSQL_URL"); u != "" {
		return u
	}
	return "mysql://root@127.0.0.1:3306/"
}

// MySQLURL creates an empty database for one test and drops it afterwards.
func MySQLURL(t testing.TB) string {
	t.Helper()
	base, err := url.Parse(MySQLServerURL())
	if err != nil {
		t.Fatalf("TEST_MYSQL_URL: %v", err)
	}
	pass, _ := base.User.Password()
	admin, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/?timeout=5s", base.User.Username(), pass, base.Host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "MariaDB/MySQL at %s is not reachable: %v", base.Host, err)
	}
	name := fmt.Sprintf("expiry_sync_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, dbCounter.Add(1))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u := *base
	u.Path = "/" + name
	return u.String()
}

// RowsOnlyUser creates a user that may only read and write the rows of
// dbURL's database (SELECT, INSERT, UPDATE, DELETE: no schema change),
// dropped when the test ends, and returns dbURL as that user.
func RowsOnlyUser(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	admin, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/?timeout=5s", u.User.Username(), pass, u.Host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	dbName := strings.TrimPrefix(u.Path, "/")
	// Named by a hash of the whole database name: unique across test
	// processes running at once (e2e shards), within MariaDB's 80 characters.
	user := fmt.Sprintf("es_rt_%08x", crc32.ChecksumIEEE([]byte(dbName)))
	for _, q := range []string{
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'runtime-pass'", user),
		fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON %s.* TO '%s'@'%%'", dbName, user),
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { _, _ = admin.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	u.User = url.UserPassword(user, "runtime-pass")
	return u.String()
}

// SQLiteURL returns a new SQLite database file in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "expiry-sync.db")
}

// Databases lists both kinds for table-driven store tests: each entry is a
// name and a function returning a fresh database URL.
func Databases() []struct {
	Name string
	URL  func(testing.TB) string
} {
	return []struct {
		Name string
		URL  func(testing.TB) string
	}{{"sqlite", SQLiteURL}, {"mysql", MySQLURL}}
}

// FindTemporalCLI finds the `temporal` binary: $TEMPORAL_CLI, then PATH,
// then $(go env GOPATH)/bin; "" when it is not installed.
func FindTemporalCLI() string {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	p := filepath.Join(gopath, "bin", "temporal")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// MissingTemporalCLI explains how to install the CLI.
const MissingTemporalCLI = "the Temporal CLI is not installed: go install github.com/temporalio/cli/cmd/temporal@v1.5.1"

// RequireAll reports whether missing services fail tests (make test, CI).
func RequireAll() bool { return os.Getenv("EXPIRY_SYNC_REQUIRE_ALL") == "1" }

// TemporalCLI returns the Temporal CLI's path, or skips (fails) the test.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	p := FindTemporalCLI()
	if p == "" {
		unavailable(t, MissingTemporalCLI)
	}
	return p
}
