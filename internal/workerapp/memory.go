package workerapp

import (
	"os"
	"runtime/debug"

	"expiry-sync/internal/config"
)

// memoryBase is what a worker holds besides its staged tags: the Temporal
// SDK, the database pools, the bulk tag pages in flight (bulkPagesInFlight)
// and Go's own structures, with a margin over what the 1,000,000 point
// measures (docs/performance.md, "The worker's memory").
const memoryBase = 96 << 20

// SetMemoryLimit gives the Go runtime a soft memory limit that follows the
// worker's tag budget (memoryBase + twice WORKER_TAG_MEMORY_MB), unless
// GOMEMLIMIT sets one. Without it the collector lets the heap grow to twice
// what is live, and a worker holding its full budget of staged tags peaks
// far above what it needs. It returns the limit in force, in bytes.
func SetMemoryLimit(cfg config.Worker) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1) // reads it without changing it
	}
	limit := memoryLimit(cfg.TagMemoryMB)
	debug.SetMemoryLimit(limit)
	return limit
}

func memoryLimit(tagMemoryMB int) int64 { return memoryBase + 2*int64(tagMemoryMB)<<20 }
