package activities_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"expiry-sync/activities"
	"expiry-sync/internal/config"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
)

const (
	ak     = "ACTIVITYTESTAK00001"
	sk     = "activity-test-secret-9f8e7d"
	domain = "abcdefabcdefabcdefabcdefabcdef01"
)

type fixture struct {
	sim  *hwsim.Simulator
	acts *activities.Activities
	env  *testsuite.TestActivityEnvironment
}

func newFixture(t *testing.T, secret string) *fixture {
	t.Helper()
	sim, err := hwsim.New(hwsim.Options{Seed: 9, Resources: 200, AccessKey: ak, SecretKey: sk, DomainID: domain})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	hw, err := huawei.New(config.Huawei{AccessKey: ak, SecretKey: config.Secret(secret), DomainID: domain,
		BSSEndpoint: srv.URL, TMSEndpoint: srv.URL, HTTPTimeout: 2 * time.Second})
	require.NoError(t, err)
	st, err := store.Open(context.Background(), testenv.SQLiteURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(context.Background()))
	acts := &activities.Activities{Store: st, Accounts: map[string]*activities.Account{
		contract.DefaultAccount: {Name: contract.DefaultAccount, DomainID: domain, Huawei: hw},
	}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &fixture{sim: sim, acts: acts, env: env}
}

// lease opens a sync of the fixture's account and returns its log: the
// generation and lease token its activities write with.
func (f *fixture) lease(t *testing.T, syncID string) store.SyncLog {
	t.Helper()
	log, err := f.acts.Store.BeginSync(context.Background(), store.SyncStart{SyncID: syncID, RunID: "r", AccountID: domain, ExpireDays: 30,
		WindowBegin: time.Now().AddDate(0, 0, -1), WindowEnd: time.Now().AddDate(0, 0, 30)}, nil)
	require.NoError(t, err)
	return log
}

func (f *fixture) taggable(n int) []inventory.TagTarget {
	var out []inventory.TagTarget
	for _, r := range f.sim.Resources() {
		if r.TMSResourceType != "" && len(out) < n {
			out = append(out, inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
		}
	}
	return out
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an ApplicationError, got %T: %v", err, err)
	return app
}

func TestBadSignatureIsANonRetryableAuthError(t *testing.T) {
	f := newFixture(t, "a-wrong-secret")
	_, err := f.env.ExecuteActivity(f.acts.ListPage, contract.ListPageInput{
		WindowBegin: time.Now().AddDate(0, 0, -30), WindowEnd: time.Now().AddDate(0, 0, 30), Limit: 100,
	})
	app := appError(t, err)
	assert.Equal(t, string(huawei.KindAuth), app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Error(), "APIGW.0301")
	assert.NotContains(t, app.Error(), "a-wrong-secret")
	assert.NotContains(t, app.Error(), sk)
}

func TestThrottledTagQueryIsRetryableAfterRetryAfter(t *testing.T) {
	f := newFixture(t, sk)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{ThrottleRatio: 1}))
	_, err := f.env.ExecuteActivity(f.acts.FetchTags, contract.FetchTagsInput{Resources: f.taggable(3)})
	app := appError(t, err)
	assert.Equal(t, string(huawei.KindThrottled), app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, time.Second, app.NextRetryDelay(), "the server's Retry-After sets the next retry")
}

func TestFetchTagsResumesFromHeartbeatDetailsAndStagesTags(t *testing.T) {
	f := newFixture(t, sk)
	targets := f.taggable(6)
	done := []inventory.TagResult{
		{ResourceID: targets[0].ResourceID, Status: inventory.TagsOK},
		{ResourceID: targets[1].ResourceID, Status: inventory.TagsNotFound},
	}
	f.env.SetHeartbeatDetails(done)
	log := f.lease(t, "sync-1")
	v, err := f.env.ExecuteActivity(f.acts.FetchTags, contract.FetchTagsInput{SyncID: "sync-1", Resources: targets, Generation: log.Generation, LeaseToken: log.LeaseToken})
	require.NoError(t, err)
	var res contract.FetchTagsResult
	require.NoError(t, v.Get(&res))
	require.Len(t, res.Results, 6)
	assert.Equal(t, inventory.TagsNotFound, res.Results[1].Status, "results of the earlier attempt are kept")
	for i, r := range res.Results {
		assert.Equal(t, targets[i].ResourceID, r.ResourceID)
		assert.Nil(t, r.Tags, "tags never cross history")
	}
	assert.Equal(t, int64(4), f.sim.Stats().APIs[hwsim.APITMSShow].Requests, "only the 4 remaining resources are queried")

	staged, err := f.acts.Store.SnapshotTags(context.Background(), log.Writer().Attempt(), resourceIDs(targets))
	require.NoError(t, err)
	assert.Len(t, staged, 4, "the tags read by this attempt are staged for the batch")
	for _, target := range targets[2:] {
		want, _ := f.sim.Lookup(target.ResourceID)
		got, ok := staged[target.ResourceID]
		require.True(t, ok)
		if len(want.Tags) == 0 {
			assert.Empty(t, parseTags(t, got))
		} else {
			assert.Equal(t, store.Tags(want.Tags), parseTags(t, got))
		}
	}
}

// A retried FetchTags attempt heartbeats the progress it resumed from from
// its very first heartbeat: were it to heartbeat nothing until it staged
// something, a worker dying then would lose the earlier attempts' work.
func TestARetriedAttemptKeepsTheEarlierProgressInItsHeartbeats(t *testing.T) {
	t.Cleanup(activities.SetKeepAliveEvery(50 * time.Millisecond))
	f := newFixture(t, sk)
	require.NoError(t, f.sim.SetKnobs(hwsim.Knobs{Latency: 400 * time.Millisecond}))
	targets := f.taggable(4)
	done := []inventory.TagResult{{ResourceID: targets[0].ResourceID, Status: inventory.TagsOK}, {ResourceID: targets[1].ResourceID, Status: inventory.TagsOK}}
	f.env.SetHeartbeatDetails(done)
	var first []inventory.TagResult
	var beats int
	f.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		if beats++; beats == 1 {
			require.True(t, details.HasValues(), "the first heartbeat carries details")
			require.NoError(t, details.Get(&first))
		}
	})
	log := f.lease(t, "sync-1")
	_, err := f.env.ExecuteActivity(f.acts.FetchTags, contract.FetchTagsInput{SyncID: "sync-1", Resources: targets, Generation: log.Generation, LeaseToken: log.LeaseToken})
	require.NoError(t, err)
	require.Positive(t, beats)
	assert.Equal(t, done, first, "the first heartbeat is the progress the attempt resumed from")
}

// parseTags decodes staged tags (stored JSON text).
func parseTags(t *testing.T, stored string) store.Tags {
	t.Helper()
	var tags store.Tags
	require.NoError(t, tags.Scan(stored))
	return tags
}

func resourceIDs(targets []inventory.TagTarget) []string {
	var ids []string
	for _, t := range targets {
		ids = append(ids, t.ResourceID)
	}
	return ids
}

func TestCommitBatchAttachesStagedTags(t *testing.T) {
	f := newFixture(t, sk)
	ctx := context.Background()
	log := f.lease(t, "sync-1")
	require.NoError(t, f.acts.Store.SaveTagSnapshot(ctx, log.Writer(), []store.SnapshotEntry{{ResourceID: "r1", Tags: store.Tags{"owner": "李四"}}}))
	row := func(id string, status inventory.TagStatus) inventory.Row {
		return inventory.Row{Resource: inventory.Resource{ResourceID: id, Status: new(2), ExpireTime: time.Now()},
			Tags: inventory.TagResult{ResourceID: id, Status: status}}
	}
	_, err := f.env.ExecuteActivity(f.acts.CommitBatch, contract.CommitBatchInput{SyncID: "sync-1", Batch: 1, SyncedAt: time.Now(), Generation: log.Generation, LeaseToken: log.LeaseToken,
		Rows: []inventory.Row{row("r1", inventory.TagsOK), row("r2", inventory.TagsNotFound)}})
	require.NoError(t, err)
	var stored []store.ExpiringResource
	require.NoError(t, f.acts.Store.DB().Order("resource_id").Find(&stored).Error)
	require.Len(t, stored, 2)
	assert.Equal(t, store.Tags{"owner": "李四"}, stored[0].Tags)
	assert.Nil(t, stored[1].Tags)

	_, err = f.env.ExecuteActivity(f.acts.CommitBatch, contract.CommitBatchInput{SyncID: "sync-1", Batch: 2, SyncedAt: time.Now(), Generation: log.Generation, LeaseToken: log.LeaseToken,
		Rows: []inventory.Row{row("r-unstaged", inventory.TagsOK)}})
	app := appError(t, err)
	assert.True(t, app.NonRetryable(), "a batch whose tags were never staged is a bug, not an outage")
	assert.Contains(t, app.Error(), "batch 2: tags not staged")
}

func TestCommitBatchWithoutTheLeaseIsRefusedForGood(t *testing.T) {
	f := newFixture(t, sk)
	_, err := f.env.ExecuteActivity(f.acts.CommitBatch, contract.CommitBatchInput{SyncID: "never-opened", Batch: 1})
	app := appError(t, err)
	assert.Equal(t, contract.ErrTypeLeaseLost, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Error(), "batch 1")
}

func TestBeginResumeOfAnUnknownSyncIsRefused(t *testing.T) {
	f := newFixture(t, sk)
	_, err := f.env.ExecuteActivity(f.acts.BeginSync, contract.BeginSyncInput{SyncID: "nope", RunID: "r", Resume: true, ExpireDays: 30})
	app := appError(t, err)
	assert.Equal(t, contract.ErrTypeResumeRefused, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Error(), `cannot resume sync "nope"`)
}
