package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
)

// assertRows checks that the database holds exactly the expected resources,
// field by field and tag by tag, all active and last seen by syncID.
func assertRows(t *testing.T, s *stack, want map[string]hwsim.Resource, syncID string) {
	t.Helper()
	got := s.rows()
	active := 0
	for id, r := range got {
		if r.IsActive {
			active++
		}
		if _, ok := want[id]; !ok && r.IsActive {
			t.Errorf("resource %s is stored active but is not in the window", id)
		}
	}
	require.Equal(t, len(want), active, "active rows")
	for id, w := range want {
		g, ok := got[id]
		if !assert.True(t, ok, "resource %s missing", id) {
			continue
		}
		assert.Equal(t, syncID, g.LastSyncID, id)
		assert.Equal(t, inventory.CloudProvider, g.CloudProvider)
		assert.Equal(t, w.ResourceName, g.ResourceName, id)
		assert.Equal(t, w.RegionCode, g.RegionCode, id)
		assert.Equal(t, w.ProjectID, g.ProjectID, id)
		assert.Equal(t, w.ServiceTypeCode, g.ServiceTypeCode, id)
		assert.Equal(t, w.ResourceTypeCode, g.ResourceTypeCode, id)
		assert.Equal(t, w.ResourceSpecCode, g.ResourceSpecCode, id)
		assert.Equal(t, w.ParentResourceID, g.ParentResourceID, id)
		assert.Equal(t, w.IsMainResource == 1, g.IsMainResource, id)
		assert.Equal(t, new(int(w.Status)), g.Status, id)
		assert.True(t, w.ExpireTime.Equal(g.ExpireTime), "%s expire %s != %s", id, g.ExpireTime, w.ExpireTime)
		assert.Equal(t, new(int(w.ExpirePolicy)), g.ExpirePolicy, id)
		assert.Equal(t, w.EnterpriseProjectID, g.EnterpriseProjectID, id)
		if w.TMSResourceType == "" {
			assert.Equal(t, string(inventory.TagsUnsupported), g.TagStatus, id)
			assert.Nil(t, g.Tags, id)
			continue
		}
		assert.Equal(t, string(inventory.TagsOK), g.TagStatus, id)
		wantTags := store.Tags(w.Tags)
		if wantTags == nil {
			wantTags = store.Tags{}
		}
		assert.Equal(t, wantTags, g.Tags, id)
	}
}

func TestSync5000ResourcesOnMariaDB(t *testing.T) {
	s := newStack(t, stackOptions{resources: 5000, seed: 42})

	began := time.Now()
	code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	t.Logf("first sync of 5,000 resources: %s", time.Since(began).Round(time.Millisecond))
	id := syncIDFrom(t, out)
	assert.Contains(t, out, "Web UI: http://localhost:8233/namespaces/default/workflows/"+id)
	log := s.syncLog(id)
	require.Equal(t, contract.StatusSuccess, log.Status)
	want := s.expected(log)
	require.Greater(t, len(want), 4500, "the window covers nearly the whole account")
	assertRows(t, s, want, id)
	assert.Equal(t, len(want), log.TotalResources)
	assert.Regexp(t, fmt.Sprintf(`(?m)^Resources\s+%d$`, len(want)), out)
	tagged := 0
	for _, r := range want {
		if r.TMSResourceType != "" {
			tagged++
		}
	}
	assert.Equal(t, tagged, log.TaggedResources)
	assert.Equal(t, len(want)-tagged, log.UntaggedResources)
	assert.Positive(t, log.UntaggedResources, "the dataset has types TMS does not serve")
	s.assertSecretNowhere(id, firstRunID(t, out), testSK)

	// The same sync again: every row rewritten in place, none duplicated.
	code, out, errOut = s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id2 := syncIDFrom(t, out)
	require.NotEqual(t, id, id2)
	assertRows(t, s, want, id2)
	assert.Equal(t, 0, s.syncLog(id2).DeactivatedResources)

	// Resources deleted in the cloud become inactive, never deleted.
	removed := s.sim.RemoveRandom(200)
	require.Len(t, removed, 200)
	code, out, errOut = s.starter("sync", "--expire-days", "400", "--lookback-days", "40", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id3 := syncIDFrom(t, out)
	log3 := s.syncLog(id3)
	want3 := s.expected(log3)
	assertRows(t, s, want3, id3)
	rows := s.rows()
	gone := 0
	for _, rid := range removed {
		if _, was := want[rid]; !was {
			continue
		}
		gone++
		r, ok := rows[rid]
		require.True(t, ok, "removed resource %s is kept", rid)
		assert.False(t, r.IsActive, "removed resource %s is inactive", rid)
		assert.Equal(t, id2, r.LastSyncID, "it was last seen by the previous sync")
	}
	assert.Positive(t, gone)
	assert.Equal(t, gone, log3.DeactivatedResources)
	assert.Len(t, rows, len(want), "nothing is deleted")
}

func TestFailedBatchResumesWithoutRewritingCommittedBatches(t *testing.T) {
	s := newStack(t, stackOptions{resources: 2000, seed: 7})
	db := s.store.DB()
	// The database itself rejects one resource of batch 13; an audit table
	// records every row written. Pages of 200 overlap by 10 ids, so pages
	// start at offsets 0, 190, 380, 570 and bring 200, 190, 190, ... new
	// rows: batches of 50 make 4 batches a page, and batch 13 is the first
	// of the page at 570 (new rows from listing position 580).
	probe := s.probeWindow()
	order := s.listingOrder(probe)
	require.Greater(t, len(order), 900)
	victim := order[610]
	for _, q := range []string{
		"CREATE TABLE audit_writes (resource_id VARCHAR(128) NOT NULL, op CHAR(1) NOT NULL)",
		"CREATE TRIGGER audit_insert AFTER INSERT ON expiring_resources FOR EACH ROW INSERT INTO audit_writes VALUES (NEW.resource_id, 'I')",
		"CREATE TRIGGER audit_update AFTER UPDATE ON expiring_resources FOR EACH ROW INSERT INTO audit_writes VALUES (NEW.resource_id, 'U')",
		fmt.Sprintf("CREATE TRIGGER reject_victim BEFORE INSERT ON expiring_resources FOR EACH ROW "+
			"IF NEW.resource_id = '%s' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'e2e: the database rejects this row'; END IF", victim),
	} {
		require.NoError(t, db.Exec(q).Error, q)
	}

	args := []string{"sync", "--expire-days", "400", "--lookback-days", "40", "--page-size", "200", "--batch-size", "50", "--tag-mode", "per-resource", "--wait"}
	code, out, errOut := s.starter(args...)
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	assert.Contains(t, errOut, "batch 13")
	assert.Contains(t, errOut, "starter resume "+id)
	log := s.syncLog(id)
	assert.Equal(t, contract.StatusFailed, log.Status)
	require.NotNil(t, log.ErrorMessage)
	assert.Contains(t, *log.ErrorMessage, "batch 13")
	assert.Contains(t, *log.ErrorMessage, "e2e: the database rejects this row")
	assert.Equal(t, 12, log.LastCommittedBatch)
	assert.Equal(t, 580, log.RowsWritten)
	assert.Equal(t, 570, log.NextOffset, "the checkpoint points at the page of batch 13")
	assert.Len(t, s.rows(), 580)

	require.NoError(t, db.Exec("DROP TRIGGER reject_victim").Error)
	committed := s.rows()
	s.sim.ResetStats()
	code, out, errOut = s.starter("resume", id, "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	log = s.syncLog(id)
	assert.Equal(t, contract.StatusSuccess, log.Status)
	assert.Equal(t, 2, log.Attempts)
	want := s.expected(log)
	assertRows(t, s, want, id)
	// The new attempt lists again from the start, since the cloud may have
	// changed after the failure, but reads no tag of a committed row: only
	// the rest costs TMS calls.
	uncommitted := 0
	for rid, w := range want {
		if _, done := committed[rid]; !done && w.TMSResourceType != "" {
			uncommitted++
		}
	}
	assert.Equal(t, int64(uncommitted), s.sim.Stats().APIs[hwsim.APITMSShow].Requests, "tags of committed rows are not read again")

	var inserts []struct {
		ResourceID string
		N          int
	}
	require.NoError(t, db.Raw("SELECT resource_id, COUNT(*) AS n FROM audit_writes WHERE op = 'I' GROUP BY resource_id").Scan(&inserts).Error)
	require.Len(t, inserts, len(want), "every resource stored once: no duplicate row")
	for _, w := range inserts {
		assert.Equal(t, 1, w.N, "resource %s inserted %d times", w.ResourceID, w.N)
	}
}

// probeWindow runs nothing: it computes the window a sync started now would
// use with --expire-days 400 --lookback-days 40, for choosing test rows.
func (s *stack) probeWindow() store.SyncLog {
	now := time.Now().UTC()
	return store.SyncLog{WindowBegin: now.AddDate(0, 0, -40), WindowEnd: now.AddDate(0, 0, 400)}
}

// listingOrder is the order BSS lists the expected resources in.
func (s *stack) listingOrder(log store.SyncLog) []string {
	want := s.expected(log)
	var ids []string
	for _, r := range s.sim.Resources() {
		if _, ok := want[r.ResourceID]; ok {
			ids = append(ids, r.ResourceID)
		}
	}
	return ids
}

func TestLongSyncContinuesAsNewAndStaysSmall(t *testing.T) {
	s := newStack(t, stackOptions{resources: 1500, seed: 11})
	code, out, errOut := s.starter("sync", "--expire-days", "400", "--lookback-days", "40",
		"--page-size", "100", "--tags-per-activity", "1", "--tag-concurrency", "30", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	assertRows(t, s, s.expected(s.syncLog(id)), id)

	runs := s.runLengths(id, firstRunID(t, out))
	t.Logf("history events per run: %v", runs)
	require.GreaterOrEqual(t, len(runs), 2, "the sync continued as new")
	for _, n := range runs {
		assert.Less(t, n, 3000, "every run stays far below Temporal's limits")
	}
}

func firstRunID(t *testing.T, stdout string) string {
	for _, line := range strings.Split(stdout, "\n") {
		if _, rest, ok := strings.Cut(line, "(run "); ok && strings.HasPrefix(line, "Started sync") {
			return strings.TrimSuffix(rest, ")")
		}
	}
	t.Fatalf("no run id in %q", stdout)
	return ""
}

// runLengths follows a workflow's continue-as-new chain and counts the
// history events of each run.
func (s *stack) runLengths(workflowID, runID string) []int {
	var lengths []int
	for runID != "" {
		it := s.client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n, next := 0, ""
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(s.t, err)
			n++
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.GetNewExecutionRunId()
			}
		}
		lengths = append(lengths, n)
		runID = next
	}
	return lengths
}

func TestSyncOnSQLite(t *testing.T) {
	s := newStack(t, stackOptions{resources: 600, seed: 3, dbURL: testenv.SQLiteURL})
	code, out, errOut := s.starter("sync", "--expire-days", "30", "--wait", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.True(t, strings.HasPrefix(strings.TrimSpace(out), "{"), "--json prints only JSON: %q", out)
	assert.Contains(t, out, `"status": "success"`)
	var logs []store.SyncLog
	require.NoError(t, s.store.DB().Find(&logs).Error)
	require.Len(t, logs, 1)
	want := s.expected(logs[0])
	require.NotEmpty(t, want)
	assert.Less(t, len(want), 600, "a 30-day window holds part of the account")
	assertRows(t, s, want, logs[0].SyncID)
	assert.True(t, slices.ContainsFunc(s.sim.Resources(), func(r hwsim.Resource) bool { return r.ExpireTime.Before(logs[0].WindowBegin) }),
		"the dataset has resources expired before the window")
}
