package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

// Retry policies, one per kind of I/O. Huawei calls back off exponentially up
// to a ceiling and never retry what cannot succeed (bad request, bad
// credentials, no permission); a 429's Retry-After overrides the next delay.
var (
	huaweiNonRetryable = append([]string{contract.ErrTypeInvalidInput}, contract.HuaweiNonRetryable...)

	listRetry = &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        10,
		NonRetryableErrorTypes: huaweiNonRetryable,
	}
	tagRetry = &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		MaximumAttempts:        20,
		NonRetryableErrorTypes: huaweiNonRetryable,
	}
	// Database writes retry through outages of several minutes; a write the
	// database rejects for good fails at once, naming the batch.
	dbRetry = &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    20 * time.Second,
		MaximumAttempts:    30,
		NonRetryableErrorTypes: []string{
			contract.ErrTypeDatabaseRejected,
			contract.ErrTypeInvalidInput,
			contract.ErrTypeAlreadyRunning,
			contract.ErrTypeResumeRefused,
			contract.ErrTypeLeaseLost,
		},
	}
	// CommitPage writes and may read a few tags one by one: the database's
	// retries, and Huawei's refusals that cannot succeed.
	commitPageRetry = &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        20 * time.Second,
		MaximumAttempts:        30,
		NonRetryableErrorTypes: append(slices.Clone(dbRetry.NonRetryableErrorTypes), contract.HuaweiNonRetryable...),
	}
	// The lease is held for the whole run: retried (on another worker)
	// until the run ends, unless another sync holds the account.
	leaseRetry = &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Second,
		NonRetryableErrorTypes: []string{contract.ErrTypeLeaseLost},
	}
	// The re-check calls BSS and writes: Huawei's retries, and the
	// non-retryable refusals of a sync that may no longer write.
	recheckRetry = &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
		MaximumAttempts:    10,
		NonRetryableErrorTypes: append(
			[]string{contract.ErrTypeDatabaseRejected, contract.ErrTypeLeaseLost},
			huaweiNonRetryable...),
	}
)

// heartbeatTimeout: every activity heartbeats every few seconds while it
// runs (activities/heartbeat.go), so an activity of a killed worker is
// retried on another within this, not at its StartToClose timeout.
const heartbeatTimeout = 15 * time.Second

func listOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         listRetry,
		Summary:             summary,
	}
}

// tagOptions: a group waits on the worker's rate limiter between calls and
// may run long in total.
func tagOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         tagRetry,
		Summary:             summary,
	}
}

// leaseOptions: HoldLease heartbeats at each renewal (every 3 s); a dead
// worker's HoldLease moves to another within 10 s, well inside the lease's
// 20 s TTL.
func leaseOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy:         leaseRetry,
		Summary:             "hold the account's lease",
	}
}

// recheckOptions: one activity re-checks every unseen resource, 50 per
// BSS call, heartbeating the id it reached.
func recheckOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         recheckRetry,
		Summary:             "re-check unseen resources by id",
	}
}

// commitPageOptions: a page whose bulk tags missed resources reads them one
// by one at the TMS rate, so it may take minutes; it heartbeats meanwhile.
func commitPageOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         commitPageRetry,
		Summary:             summary,
	}
}

func dbOptions(summary string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         dbRetry,
		Summary:             summary,
	}
}
