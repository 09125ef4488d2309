package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"expiry-sync/internal/store"
)

// dbPrefix starts the name of every database (or SQLite file) the bench
// creates: the tests' databases are expiry_sync_test_*, so a bench run next
// to `make test` never touches theirs, nor they its.
const dbPrefix = "bench_"

// dbName is a fresh database name: the prefix, a role, this process's id
// and random digits, so that two benches on one server cannot clash either.
func dbName(role string) string {
	return fmt.Sprintf("%s%s_%d_%08x", dbPrefix, role, os.Getpid(), rand.Uint32())
}

// newDatabase creates an empty database of kind (DBMySQL: on the stack's
// server; DBSQLite: a file in the stack's folder) and says how to drop it.
func (s *Stack) newDatabase(ctx context.Context, kind, role string) (dbURL string, drop func(), err error) {
	name := dbName(role)
	if kind == DBSQLite {
		path := filepath.Join(s.dir, name+".db")
		return "sqlite://" + path, func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		}, nil
	}
	admin, err := adminDB(s.mysqlURL)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, _ := url.Parse(s.mysqlURL)
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
		admin.Close()
	}, nil
}

// dbSize is the space the database takes: data and indexes of every table
// (InnoDB's statistics refreshed first) on MySQL, pages on SQLite.
func dbSize(ctx context.Context, st *store.Store) (int64, error) {
	db := st.DB().WithContext(ctx)
	if st.Dialect() != "mysql" {
		var pages, pageSize int64
		if err := db.Raw("PRAGMA page_count").Scan(&pages).Error; err != nil {
			return 0, err
		}
		if err := db.Raw("PRAGMA page_size").Scan(&pageSize).Error; err != nil {
			return 0, err
		}
		return pages * pageSize, nil
	}
	var tables []string
	if err := db.Raw("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&tables).Error; err != nil {
		return 0, err
	}
	for _, t := range tables {
		if err := db.Exec("ANALYZE TABLE `" + t + "`").Error; err != nil {
			return 0, err
		}
	}
	var size int64
	err := db.Raw("SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&size).Error
	return size, err
}

// createRawTable makes raw_bound, an empty twin of expiring_resources with
// the same columns and indexes, for the raw INSERT bound.
func createRawTable(ctx context.Context, st *store.Store) error {
	db := st.DB().WithContext(ctx)
	if st.Dialect() == "mysql" {
		return db.Exec("CREATE TABLE raw_bound LIKE expiring_resources").Error
	}
	var ddl []string
	if err := db.Raw("SELECT sql FROM sqlite_master WHERE tbl_name = 'expiring_resources' AND sql IS NOT NULL ORDER BY type = 'index'").Scan(&ddl).Error; err != nil {
		return err
	}
	if len(ddl) == 0 {
		return fmt.Errorf("no expiring_resources table in the SQLite database")
	}
	for _, stmt := range ddl {
		// Table and index names all hold "expiring_resources": renamed, they stay unique.
		if err := db.Exec(strings.ReplaceAll(stmt, "expiring_resources", "raw_bound")).Error; err != nil {
			return err
		}
	}
	return nil
}
