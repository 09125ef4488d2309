package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// APIKeyFileTTL is how long a key read from TEMPORAL_API_KEY_FILE is sent
// before the file is read again: a rotated key takes effect within it,
// without a restart, and a busy worker reads the file at most this often.
const APIKeyFileTTL = 5 * time.Second

// keyFile is a key held in a file that may be rewritten at any time (a
// Kubernetes or Docker secret rotated in place). Copies of a Temporal share
// one keyFile, so one cache.
type keyFile struct {
	variable, path string
	ttl            time.Duration
	now            func() time.Time

	mu       sync.Mutex
	key      string    // the last key read, "" before the first good read
	previous string    // the one before it, still scrubbed from errors
	readAt   time.Time // when the file was last read
}

func newKeyFile(variable, path string) *keyFile {
	return &keyFile{variable: variable, path: path, ttl: APIKeyFileTTL, now: time.Now}
}

// Key is the file's key, read again once ttl has passed since the last read.
// While the file cannot be read or is empty (a rotation in progress), the
// last key read is kept until the next try, ttl later. The error names the
// variable and the file, never a key.
func (k *keyFile) Key(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.key != "" && now.Sub(k.readAt) < k.ttl {
		return k.key, nil
	}
	b, err := os.ReadFile(k.path)
	key := strings.TrimSpace(string(b))
	switch {
	case err == nil && key != "":
		if key != k.key {
			k.previous, k.key = k.key, key
		}
	case k.key != "":
		// Keep the last key; try again after ttl.
	case err != nil:
		return "", fmt.Errorf("%s=%s cannot be read: %v", k.variable, k.path, errors.Unwrap(err))
	default:
		return "", fmt.Errorf("%s=%s is empty: it must hold the API key", k.variable, k.path)
	}
	k.readAt = now
	return k.key, nil
}

// keys are the keys read so far (the current and the one before), for
// scrubbing.
func (k *keyFile) keys() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return []string{k.key, k.previous}
}
