package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/testenv"
)

func TestDBNames(t *testing.T) {
	a, b := dbName("sync"), dbName("sync")
	assert.True(t, strings.HasPrefix(a, "bench_sync_"), a)
	assert.NotEqual(t, a, b, "fresh every time")
	assert.False(t, strings.HasPrefix(a, "expiry_sync_test_"), "never a test database's name")
	assert.LessOrEqual(t, len(a), 64, "MySQL's limit on a database name")
}

// The raw bound's table has the columns and indexes of expiring_resources,
// on both databases; the size reading sees the rows land.
func TestRawTableAndSize(t *testing.T) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, db.URL(t))
			require.NoError(t, err)
			defer st.Close()
			require.NoError(t, st.Migrate(ctx))
			before, err := dbSize(ctx, st)
			require.NoError(t, err)
			assert.Positive(t, before)

			require.NoError(t, createRawTable(ctx, st))
			assert.Greater(t, indexes(t, st, "expiring_resources"), 3)
			assert.Equal(t, indexes(t, st, "expiring_resources"), indexes(t, st, "raw_bound"))
			cols, err := st.DB().Migrator().ColumnTypes("raw_bound")
			require.NoError(t, err)
			assert.Len(t, cols, len(columnNames(t, st, "expiring_resources")))

			after, err := dbSize(ctx, st)
			require.NoError(t, err)
			assert.Greater(t, after, before, "a new table with its indexes takes room")
		})
	}
}

func indexes(t *testing.T, st *store.Store, table string) int {
	t.Helper()
	idx, err := st.DB().Migrator().GetIndexes(table)
	require.NoError(t, err)
	return len(idx)
}

func columnNames(t *testing.T, st *store.Store, table string) []string {
	t.Helper()
	cols, err := st.DB().Migrator().ColumnTypes(table)
	require.NoError(t, err)
	var names []string
	for _, c := range cols {
		names = append(names, c.Name())
	}
	return names
}
