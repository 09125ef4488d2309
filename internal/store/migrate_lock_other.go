//go:build !unix || aix || solaris

package store

import (
	"context"
	"database/sql"
	"sync"
)

// fileLock, where flock(2) is missing, serializes the stores of this
// process only.
type fileLock struct{ path string }

var processLock sync.Mutex

func (l *fileLock) SessionLock(context.Context, *sql.Conn) error {
	processLock.Lock()
	return nil
}

func (l *fileLock) SessionUnlock(context.Context, *sql.Conn) error {
	processLock.Unlock()
	return nil
}
