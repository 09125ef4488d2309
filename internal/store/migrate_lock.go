package store

import (
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrateLock serializes the migrations of the workers sharing a database.
// Started together, each would otherwise see the same pending migrations
// and apply them: all but the first fail with "Error 1050: Table
// 'expiring_resources' already exists". Behind the lock the others wait,
// then find nothing pending.
func (s *Store) migrateLock() (goose.ProviderOption, error) {
	if s.dialect == goose.DialectSQLite3 {
		// goose has no SQLite locker. Only processes on this host can share
		// the file, so a lock file beside it serializes them all.
		return goose.WithSessionLocker(&fileLock{path: s.file + "-migrate.lock"}), nil
	}
	// goose's MySQL locker: a row in goose_lock with a lease (30 s, renewed
	// every 5 s), so a worker killed while migrating blocks the others for
	// at most the lease. Checked every second (goose's default is 5 s) for
	// up to 10 minutes, for a migration of a large table.
	l, err := lock.NewMySQLTableLocker(lock.WithTableLockTimeout(time.Second, 600))
	if err != nil {
		return nil, err
	}
	return goose.WithLocker(l), nil
}
