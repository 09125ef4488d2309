// Package contract is what the workflows and their activities agree on: the
// activities' names, their inputs and results, and the names both sides
// read (sync statuses, error types, limits). Everything here crosses
// Temporal's history, so it imports nothing that does I/O: workflow code
// depends on this package, never on the store or the Huawei SDK.
package contract

// Activity names: the methods of activities.Activities and
// activities.Notifier, registered under their method names.
const (
	ActivityBeginSync     = "BeginSync"
	ActivityHoldLease     = "HoldLease"
	ActivityListPage      = "ListPage"
	ActivityFetchTags     = "FetchTags"
	ActivitySnapshotTags  = "SnapshotTags"
	ActivityCommitBatch   = "CommitBatch"
	ActivityCommitPage    = "CommitPage"
	ActivityRecheckUnseen = "RecheckUnseen"
	ActivityFinishSync    = "FinishSync"
	ActivityEndSync       = "EndSync"
	ActivityListAccounts  = "ListAccounts"

	ActivityNotifyPlan     = "NotifyPlan"
	ActivityNotifyClaim    = "NotifyClaim"
	ActivityNotifySend     = "NotifySend"
	ActivityNotifySettle   = "NotifySettle"
	ActivityNotifyTestSend = "NotifyTestSend"
)

// DefaultAccount names the account of the single-account HUAWEI_*
// environment, and the account of a sync that names none.
const DefaultAccount = "default"

// The window a sync lists when neither its input nor its account's
// defaults say: expiring within 30 days, or expired up to 15 days ago.
const (
	DefaultExpireDays   = 30
	DefaultLookbackDays = 15
)

// MaxPageSize is the largest limit BSS accepts for one listing call.
const MaxPageSize = 500

// Sync statuses, in the sync log and the ExpirySyncStatus search attribute.
const (
	StatusRunning  = "running"
	StatusSuccess  = "success"
	StatusPartial  = "partial" // finished, but something could not be read as asked (see Notes)
	StatusFailed   = "failed"
	StatusCanceled = "canceled"
)

// Error types the activities fail with and the retry policies name.
const (
	// ErrTypeDatabaseRejected: the database refused a write in a way that repeats.
	ErrTypeDatabaseRejected = "DatabaseRejected"
	// ErrTypeDatabaseUnavailable: the database did not answer; retried.
	ErrTypeDatabaseUnavailable = "DatabaseUnavailable"
	// ErrTypeInvalidInput: the workflow input is invalid.
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeAlreadyRunning: another sync of the account runs.
	ErrTypeAlreadyRunning = "SyncAlreadyRunning"
	// ErrTypeResumeRefused: the sync cannot be resumed (superseded, too old,
	// finished, or never started writing).
	ErrTypeResumeRefused = "ResumeRefused"
	// ErrTypeLeaseLost: another sync holds the account now; this one stops.
	ErrTypeLeaseLost = "LeaseLost"
)

// Huawei API failures, by what the caller should do about them (the
// huawei package's error kinds).
const (
	ErrTypeHuaweiThrottled   = "HuaweiThrottled"   // 429, 403 TMS.0006, 400 CBC.99007197: retry after a pause
	ErrTypeHuaweiServer      = "HuaweiServerError" // 5xx: retry
	ErrTypeHuaweiTransport   = "HuaweiTransport"   // no HTTP answer (timeout, refused): retry
	ErrTypeHuaweiBadResponse = "HuaweiBadResponse" // an answer we cannot use: retry, it may be transient
	ErrTypeHuaweiBadRequest  = "HuaweiBadRequest"  // 400: our request is wrong, retrying cannot help
	ErrTypeHuaweiAuth        = "HuaweiAuthFailed"  // 401: AK/SK or clock, retrying cannot help
	ErrTypeHuaweiForbidden   = "HuaweiForbidden"   // 403: wrong site or no permission
	ErrTypeHuaweiNotFound    = "HuaweiNotFound"    // 404: the resource is gone
	ErrTypeHuaweiNoAPI       = "HuaweiNoSuchAPI"   // 404 APIGW.0101: the endpoint does not serve this API
)

// HuaweiNonRetryable are the Huawei failures a retry policy must not retry.
var HuaweiNonRetryable = []string{
	ErrTypeHuaweiBadRequest,
	ErrTypeHuaweiAuth,
	ErrTypeHuaweiForbidden,
	ErrTypeHuaweiNotFound,
	ErrTypeHuaweiNoAPI,
}

// Statuses of a send (a digest on one channel) and of each resource it
// names (a row of notifications). pending: claimed, not sent yet (or the
// last attempt is known not to have reached the platform); sending: a
// message naming it is on its way; sent: the platform accepted a message
// naming it; unconfirmed: the message went out and no answer came, so it
// may or may not have arrived: it is never sent again on a chat robot (at
// most once), and never counted as delivered; failed: refused for good, or
// given up; obsolete: renewed or released before it could go out. A
// send's status is settled from its resources' (the store's settleStatus).
// Then the failure classes and channel types of the renewal reminders.
const (
	SendPending     = "pending"
	SendSending     = "sending"
	SendSent        = "sent"
	SendFailed      = "failed"
	SendUnconfirmed = "unconfirmed"
	SendObsolete    = "obsolete"

	NotifyRateLimited = "NotifyRateLimited"
	NotifyUnavailable = "NotifyUnavailable"
	NotifyRejected    = "NotifyRejected"
	NotifyUncertain   = "NotifyUncertain"
	NotifyConfig      = "NotifyConfig"

	ChannelEmail = "email"

	// OverdueThreshold is the reminder threshold of resources already past
	// their expire time (thresholds are days before it).
	OverdueThreshold = 0
)
