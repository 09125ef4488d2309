// Package activities holds every piece of I/O of a sync: Huawei API calls and
// database writes. Workflow code only orchestrates them.
package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/metrics"
	"expiry-sync/internal/store"
)

// Activities carries the worker's shared clients; one instance per worker.
type Activities struct {
	Store *store.Store
	// Accounts are the Huawei accounts the worker serves, by name; every
	// worker on a task queue serves the same ones.
	Accounts map[string]*Account
	// HolderRunning tells whether the sync holding an account still runs
	// (asked of Temporal), so a terminated sync's lease is taken over at
	// once; nil waits for the lease to expire.
	HolderRunning store.HolderRunning
	Metrics       *metrics.Recorder // nil: no metrics
}

// Account is one Huawei account the worker serves.
type Account struct {
	Name     string
	DomainID string
	Huawei   *huawei.Client // its own limiters and catalog
	Defaults config.SyncDefaults
	// Partner: reached through a partner's credentials (customer_id),
	// which Huawei's renewal APIs refuse.
	Partner bool
}

// account finds the account an activity input names ("" is the default).
// One the worker does not serve fails the activity for good: the workers of
// a task queue must all serve the same accounts.
func (a *Activities) account(name string) (*Account, error) { return lookupAccount(a.Accounts, name) }

func lookupAccount(accounts map[string]*Account, name string) (*Account, error) {
	if name == "" {
		name = contract.DefaultAccount
	}
	if acc, ok := accounts[name]; ok {
		return acc, nil
	}
	return nil, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("account %q is not served by this worker: it serves %s (EXPIRY_SYNC_ACCOUNTS_FILE)",
			name, strings.Join(slices.Sorted(maps.Keys(accounts)), ", ")),
		contract.ErrTypeInvalidInput,
		nil,
	)
}

// accountNames are the names of the accounts the worker serves, sorted.
func (a *Activities) accountNames() []string {
	return slices.Sorted(maps.Keys(a.Accounts))
}

// ListAccounts answers which accounts the worker serves (for a sync of
// every account).
func (a *Activities) ListAccounts(context.Context) ([]string, error) { return a.accountNames(), nil }

// writer is who a sync of the account writes as.
func (acc *Account) writer(syncID string, generation, token int64) store.Writer {
	return store.Writer{
		SyncID:      syncID,
		AccountID:   acc.DomainID,
		AccountName: acc.Name,
		Generation:  generation,
		Token:       token,
	}
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
