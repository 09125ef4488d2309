package bench

import (
	"context"
	"expiry-sync/internal/contract"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"expiry-sync/internal/hwsim"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/workflows"
)

// span is one activity's time, from scheduled to closed.
type span struct{ from, to time.Time }

// union is the total time covered by the spans (overlaps counted once).
func union(spans []span) time.Duration {
	slices.SortFunc(spans, func(a, b span) int { return a.from.Compare(b.from) })
	var total time.Duration
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s.from.After(cur.to):
			total += cur.to.Sub(cur.from)
			cur = s
		case s.to.After(cur.to):
			cur.to = s.to
		}
	}
	if len(spans) > 0 {
		total += cur.to.Sub(cur.from)
	}
	return total
}

var phaseOf = map[string]string{
	"ListPage": "list", "FetchTags": "tags", "SnapshotTags": "tags", "CommitBatch": "writes", "FinishSync": "finalize",
}

// measureHistory follows the sync's continue-as-new chain and reads phase
// times, retries and run lengths from the events.
func (s *Stack) measureHistory(ctx context.Context, workflowID, runID string, r *Result) error {
	phases := map[string][]span{}
	var commitDB time.Duration
	for runID != "" {
		scheduled := map[int64]time.Time{}
		typeOf := map[int64]string{}
		next, events := "", 0
		it := s.dev.Client().GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return err
			}
			events++
			at := ev.GetEventTime().AsTime()
			switch {
			case ev.GetActivityTaskScheduledEventAttributes() != nil:
				scheduled[ev.GetEventId()] = at
				typeOf[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			case ev.GetActivityTaskStartedEventAttributes() != nil:
				r.Retries += int(ev.GetActivityTaskStartedEventAttributes().GetAttempt()) - 1
			case ev.GetActivityTaskCompletedEventAttributes() != nil:
				id := ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
				phases[phaseOf[typeOf[id]]] = append(phases[phaseOf[typeOf[id]]], span{scheduled[id], at})
				if typeOf[id] == "CommitBatch" {
					var res contract.CommitBatchResult
					if err := converter.GetDefaultDataConverter().FromPayloads(ev.GetActivityTaskCompletedEventAttributes().GetResult(), &res); err == nil {
						commitDB += time.Duration(res.WriteMS * float64(time.Millisecond))
					}
				}
			case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
				next = ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
			}
		}
		r.Runs++
		r.MaxHistoryEvents = max(r.MaxHistoryEvents, events)
		runID = next
	}
	r.ListS = union(phases["list"]).Seconds()
	r.TagsS = union(phases["tags"]).Seconds()
	r.WritesS = union(phases["writes"]).Seconds()
	r.FinalizeS = union(phases["finalize"]).Seconds()
	if commitDB > 0 {
		r.InSyncRowsPerS = float64(r.Rows) / commitDB.Seconds()
	}
	return nil
}

// checkRows compares the database with the simulator's dataset: every
// resource of the sync's window, once, with its exact tags.
func checkRows(ctx context.Context, st *store.Store, sim *hwsim.Simulator, syncID string) (bool, string) {
	log, err := st.GetSyncLog(ctx, syncID)
	if err != nil {
		return false, err.Error()
	}
	var rows []store.ExpiringResource
	if err := st.DB().WithContext(ctx).Select("resource_id", "tags", "tag_status", "expire_time", "last_sync_id").Find(&rows).Error; err != nil {
		return false, err.Error()
	}
	got := make(map[string]store.ExpiringResource, len(rows))
	for _, r := range rows {
		got[r.ResourceID] = r
	}
	if len(got) != len(rows) {
		return false, "duplicate rows"
	}
	want := 0
	for r := range sim.All() {
		if r.ExpireTime.Before(log.WindowBegin) || r.ExpireTime.After(log.WindowEnd) || !slices.Contains(workflows.DefaultStatuses, int(r.Status)) {
			continue
		}
		want++
		g, ok := got[r.ResourceID]
		switch {
		case !ok:
			return false, "missing " + r.ResourceID
		case !g.ExpireTime.Equal(r.ExpireTime):
			return false, "wrong expire time for " + r.ResourceID
		case r.TMSResourceType != "" && !sameTags(g.Tags, r.Tags):
			return false, "wrong tags for " + r.ResourceID
		}
	}
	if want != len(rows) {
		return false, fmt.Sprintf("%d rows stored, %d expected", len(rows), want)
	}
	return true, ""
}

func sameTags(got store.Tags, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// rawInsertRate copies the synced rows into an empty twin table with plain
// multi-row INSERTs of 500 rows, one transaction each: the write bound.
func rawInsertRate(ctx context.Context, st *store.Store) (float64, error) {
	db := st.DB().WithContext(ctx)
	if err := db.Exec("CREATE TABLE raw_bound LIKE expiring_resources").Error; err != nil {
		return 0, err
	}
	var rows []store.ExpiringResource
	if err := db.Order("id").Find(&rows).Error; err != nil {
		return 0, err
	}
	cols := store.InsertColumns()
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	sqlDB, err := st.DB().DB()
	if err != nil {
		return 0, err
	}
	var took time.Duration
	for chunk := range slices.Chunk(rows, 500) {
		start := time.Now() // like CommitBatch's write time: from rows in memory to committed
		var q strings.Builder
		q.WriteString("INSERT INTO raw_bound (" + strings.Join(cols, ",") + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString(tuple)
			tags, _ := r.Tags.Value()
			args = append(args, r.InsertArgs(tags)...)
		}
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			_ = tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		took += time.Since(start)
	}
	if took == 0 {
		return 0, fmt.Errorf("no rows to measure the raw write rate")
	}
	return float64(len(rows)) / took.Seconds(), nil
}

// writePathRate replays the synced rows through CommitBatch into a fresh
// database, alone on the machine like rawInsertRate: the tags are staged
// first (untimed, that is the tag phase's work), then batches of 500 rows
// are committed as a sync commits them.
func (s *Stack) writePathRate(ctx context.Context, synced *store.Store) (float64, error) {
	var rows []store.ExpiringResource
	if err := synced.DB().WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return 0, err
	}
	dbURL, drop, err := s.newDatabase(ctx, fmt.Sprintf("expiry_write_%d", time.Now().UnixNano()%1e12))
	if err != nil {
		return 0, err
	}
	defer drop()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	const syncID = "write-path"
	log, err := st.BeginSync(ctx, store.SyncStart{SyncID: syncID, RunID: "r", AccountID: benchDomain, ExpireDays: 400,
		WindowBegin: now.AddDate(0, 0, -40), WindowEnd: now.AddDate(0, 0, 400)}, nil)
	if err != nil {
		return 0, err
	}
	var staged []store.SnapshotEntry
	for _, r := range rows {
		if r.TagStatus == string(inventory.TagsOK) {
			staged = append(staged, store.SnapshotEntry{ResourceID: r.ResourceID, Tags: r.Tags})
		}
	}
	for chunk := range slices.Chunk(staged, 500) {
		if err := st.SaveTagSnapshot(ctx, log.Writer(), chunk); err != nil {
			return 0, err
		}
	}
	var took time.Duration
	for i, chunk := range slices.Collect(slices.Chunk(rows, 500)) {
		batch := make([]inventory.Row, len(chunk))
		for j, r := range chunk {
			batch[j] = inventory.Row{Resource: inventory.Resource{ResourceID: r.ResourceID, Name: r.ResourceName,
				RegionCode: r.RegionCode, ProjectID: r.ProjectID, ServiceTypeCode: r.ServiceTypeCode,
				ResourceTypeCode: r.ResourceTypeCode, ResourceSpecCode: r.ResourceSpecCode, ParentResourceID: r.ParentResourceID,
				IsMainResource: r.IsMainResource, Status: r.Status, ExpireTime: r.ExpireTime, ExpirePolicy: r.ExpirePolicy,
				EnterpriseProjectID: r.EnterpriseProjectID},
				Tags: inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagStatus(r.TagStatus), Error: r.TagError}}
		}
		start := time.Now()
		if _, err := st.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: i + 1,
			Rows: batch, SyncedAt: now, TagsStaged: true}); err != nil {
			return 0, err
		}
		took += time.Since(start)
	}
	return float64(len(rows)) / took.Seconds(), nil
}
