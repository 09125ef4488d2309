// Package activities holds every piece of I/O of a sync: Huawei API calls and
// database writes. Workflow code only orchestrates them.
package activities

import (
	"context"
	"errors"
	"expiry-sync/internal/contract"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/huawei"
	"expiry-sync/internal/metrics"
	"expiry-sync/internal/store"
)

// Activities carries the worker's shared clients; one instance per worker.
type Activities struct {
	Store     *store.Store
	Huawei    *huawei.Client
	AccountID string // the Huawei domain id this worker syncs
	// HolderRunning tells whether the sync holding an account still runs
	// (asked of Temporal), so a terminated sync's lease is taken over at
	// once; nil waits for the lease to expire.
	HolderRunning store.HolderRunning
	Metrics       *metrics.Recorder // nil: no metrics
}

// retries is how many times this activity was retried before this attempt.
func retries(ctx context.Context) int { return int(activity.GetInfo(ctx).Attempt) - 1 }

// huaweiError turns a classified API failure into a Temporal error whose type
// the retry policy knows; a Retry-After becomes the next retry delay.
func huaweiError(err error) error {
	var ae *huawei.APIError
	if !errors.As(err, &ae) {
		return err // context cancellation and the like: Temporal handles them
	}
	return temporal.NewApplicationErrorWithOptions(ae.Error(), string(ae.Kind), temporal.ApplicationErrorOptions{
		NonRetryable:   !ae.Kind.Retryable(),
		NextRetryDelay: ae.RetryAfter,
	})
}

// writeError is databaseError, plus the refusals of a sync that may no
// longer write: they are final.
func writeError(what string, err error) error {
	var (
		lost       *store.LeaseLostError
		superseded *store.SupersededError
	)
	if errors.As(err, &lost) || errors.As(err, &superseded) {
		return temporal.NewNonRetryableApplicationError(what+": "+err.Error(), contract.ErrTypeLeaseLost, nil)
	}
	return databaseError(what, err)
}

// databaseError marks permanent database refusals non-retryable.
func databaseError(what string, err error) error {
	if store.IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(what+": "+err.Error(), contract.ErrTypeDatabaseRejected, nil)
	}
	return temporal.NewApplicationError(what+": "+err.Error(), "DatabaseUnavailable")
}
