//go:build unix && !aix && !solaris

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLock is a goose session locker holding an exclusive flock(2) on a
// file. Each lock opens the file afresh, so two stores of one process
// exclude each other too; the kernel releases it if the process dies.
type fileLock struct {
	path string
	f    *os.File
}

func (l *fileLock) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return fmt.Errorf("migration lock %s: %w", l.path, err)
		}
		// Polled rather than blocking, so that ctx can end the wait.
		select {
		case <-ctx.Done():
			_ = f.Close()
			return fmt.Errorf("migration lock %s: another process is migrating: %w", l.path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SessionUnlock closes the file, which releases the lock. The file stays:
// removing it would let a waiter lock a file no newcomer opens.
func (l *fileLock) SessionUnlock(context.Context, *sql.Conn) error {
	f := l.f
	l.f = nil
	return f.Close()
}
