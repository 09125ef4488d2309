//go:build unix && !aix && !solaris

package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A waiter gives up when its context ends, and gets the lock once the
// holder lets go.
func TestFileLockExcludesAndHonoursTheContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db-migrate.lock")
	holder, waiter := &fileLock{path: path}, &fileLock{path: path}
	require.NoError(t, holder.SessionLock(context.Background(), nil))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := waiter.SessionLock(ctx, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another process is migrating")

	require.NoError(t, holder.SessionUnlock(context.Background(), nil))
	require.NoError(t, waiter.SessionLock(context.Background(), nil))
	require.NoError(t, waiter.SessionUnlock(context.Background(), nil))
}
