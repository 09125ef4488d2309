package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

// Workers started together each migrate at start: one applies the
// migrations, the others wait for it and find nothing left to apply.
// Without the lock one of three failed with "Error 1050: Table
// 'expiring_resources' already exists".
func TestWorkersStartingTogetherAllMigrate(t *testing.T) {
	for _, db := range testenv.Databases() {
		for _, from := range []int64{0, 5} {
			t.Run(fmt.Sprintf("%s/from version %d", db.Name, from), func(t *testing.T) {
				url := db.URL(t)
				if from > 0 {
					s := openStore(t, url)
					require.NoError(t, store.MigrateTo(context.Background(), s, from))
				}
				migrateTogether(t, url, 4)
			})
		}
	}
}

// migrateTogether opens n stores (n connection pools, as n workers have)
// and migrates them at once; every one must succeed.
func migrateTogether(t *testing.T, url string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stores := make([]*store.Store, n)
	for i := range stores {
		stores[i] = openStore(t, url)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-gate
			errs[i] = s.Migrate(ctx)
		})
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "worker %d", i)
	}
	current, latest, err := stores[0].MigrationVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, latest, current, "the schema is the latest")
}

func openStore(t *testing.T, url string) *store.Store {
	s, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// A start with nothing to migrate takes no lock: a user who may only read
// and write rows still starts on a schema that an older build migrated,
// before the lock table existed.
func TestNothingToMigrateNeedsNoLock(t *testing.T) {
	dbURL := testenv.MySQLURL(t)
	admin := openStore(t, dbURL)
	require.NoError(t, admin.Migrate(context.Background()))
	require.NoError(t, admin.DB().Exec("DROP TABLE goose_lock").Error)

	assert.NoError(t, openStore(t, testenv.RowsOnlyUser(t, dbURL)).Migrate(context.Background()))
}
