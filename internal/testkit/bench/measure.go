package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"gorm.io/gorm"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/hwsim"
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
	contract.ActivityListPage: "list", contract.ActivityFetchTags: "tags", contract.ActivitySnapshotTags: "tags",
	contract.ActivityCommitBatch: "writes", contract.ActivityCommitPage: "writes", contract.ActivityFinishSync: "finalize",
}

// history is what a workflow's events tell, over its continue-as-new chain.
type history struct {
	phases      map[string][]span
	commitDB    time.Duration // the write transactions' own time (WriteMS)
	runs        int
	maxEvents   int
	retries     int
	first, last time.Time
	children    map[string]string // child workflow id: its first run id
	timeline    []step
}

// step is one activity attempt that completed: when it was scheduled,
// started and completed.
type step struct {
	activity                     string
	scheduled, started, finished time.Time
}

// readHistory follows a workflow's continue-as-new chain from runID and
// reads phase spans, retries, run lengths and the children it started.
func (s *Stack) readHistory(ctx context.Context, workflowID, runID string) (history, error) {
	h := history{phases: map[string][]span{}, children: map[string]string{}}
	for runID != "" {
		scheduled, started := map[int64]time.Time{}, map[int64]time.Time{}
		typeOf := map[int64]string{}
		next, events := "", 0
		it := s.dev.Client().GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return h, err
			}
			events++
			at := ev.GetEventTime().AsTime()
			if h.first.IsZero() {
				h.first = at
			}
			h.last = at
			switch {
			case ev.GetActivityTaskScheduledEventAttributes() != nil:
				scheduled[ev.GetEventId()] = at
				typeOf[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			case ev.GetActivityTaskStartedEventAttributes() != nil:
				h.retries += int(ev.GetActivityTaskStartedEventAttributes().GetAttempt()) - 1
				started[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()] = at
			case ev.GetActivityTaskCompletedEventAttributes() != nil:
				attrs := ev.GetActivityTaskCompletedEventAttributes()
				id := attrs.GetScheduledEventId()
				h.phases[phaseOf[typeOf[id]]] = append(h.phases[phaseOf[typeOf[id]]], span{scheduled[id], at})
				h.timeline = append(h.timeline, step{typeOf[id], scheduled[id], started[id], at})
				switch typeOf[id] {
				case contract.ActivityCommitBatch:
					var res contract.CommitBatchResult
					if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetResult(), &res); err == nil {
						h.commitDB += time.Duration(res.WriteMS * float64(time.Millisecond))
					}
				case contract.ActivityCommitPage:
					var res contract.CommitPageResult
					if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetResult(), &res); err == nil {
						h.commitDB += time.Duration(res.WriteMS * float64(time.Millisecond))
					}
				}
			case ev.GetChildWorkflowExecutionStartedEventAttributes() != nil:
				child := ev.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution()
				if _, seen := h.children[child.GetWorkflowId()]; !seen {
					h.children[child.GetWorkflowId()] = child.GetRunId()
				}
			case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
				next = ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
			}
		}
		h.runs++
		h.maxEvents = max(h.maxEvents, events)
		runID = next
	}
	return h, nil
}

// measureRun reads every account's sync history: the phases are the union
// of all accounts' activity spans, the in-sync write rate is every row over
// the transactions' summed time.
func (s *Stack) measureRun(ctx context.Context, accounts []*benchAccount, r *Result) error {
	phases := map[string][]span{}
	var commitDB time.Duration
	for _, a := range accounts {
		h, err := s.readHistory(ctx, a.syncID, a.firstRun)
		if err != nil {
			return fmt.Errorf("history of %s: %w", a.syncID, err)
		}
		a.hist = h
		for k, v := range h.phases {
			phases[k] = append(phases[k], v...)
		}
		commitDB += h.commitDB
		r.Runs += h.runs
		r.Retries += h.retries
		r.MaxHistoryEvents = max(r.MaxHistoryEvents, h.maxEvents)
	}
	if path := os.Getenv("BENCH_TIMELINE"); path != "" {
		if err := writeTimeline(path, accounts); err != nil {
			return err
		}
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
func checkRows(ctx context.Context, st *store.Store, sim *hwsim.Simulator, accountID, syncID string) (bool, string) {
	log, err := st.GetSyncLog(ctx, syncID)
	if err != nil {
		return false, err.Error()
	}
	var rows []store.ExpiringResource
	if err := st.DB().WithContext(ctx).Select("resource_id", "tags", "tag_status", "expire_time", "last_sync_id").
		Where("account_id = ?", accountID).Find(&rows).Error; err != nil {
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

// chunkRows is the rows per transaction of the raw bound and of the write
// path replayed alone: a sync's batch.
const chunkRows = 500

// eachChunk reads the synced rows in id order, chunkRows at a time, so
// that a million rows never sit in memory at once.
func eachChunk(ctx context.Context, st *store.Store, fn func([]store.ExpiringResource) error) error {
	var rows []store.ExpiringResource
	return st.DB().WithContext(ctx).FindInBatches(&rows, chunkRows, func(_ *gorm.DB, _ int) error {
		return fn(rows)
	}).Error
}

// rawInsertRate copies the synced rows into an empty twin table (same
// columns and indexes) with plain multi-row INSERTs of 500 rows, one
// transaction each: the write bound. Only the INSERTs are timed.
func rawInsertRate(ctx context.Context, st *store.Store) (float64, error) {
	if err := createRawTable(ctx, st); err != nil {
		return 0, err
	}
	cols := store.InsertColumns()
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	sqlDB, err := st.DB().DB()
	if err != nil {
		return 0, err
	}
	var took time.Duration
	n := 0
	err = eachChunk(ctx, st, func(chunk []store.ExpiringResource) error {
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
		start := time.Now() // like CommitBatch's write time: from rows in memory to committed
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		took += time.Since(start)
		n += len(chunk)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if took == 0 {
		return 0, fmt.Errorf("no rows to measure the raw write rate")
	}
	return float64(n) / took.Seconds(), nil
}

// writePathRate replays the synced rows through CommitBatch into a fresh
// database of the same kind, alone on the machine like rawInsertRate: the
// tags are staged first (untimed, that is the tag phase's work), then
// batches of 500 rows are committed as a sync commits them, each account's
// under its own sync log.
func (s *Stack) writePathRate(ctx context.Context, kind string, synced *store.Store) (float64, error) {
	dbURL, drop, err := s.newDatabase(ctx, kind, "write")
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
	logs := map[string]store.SyncLog{}
	logOf := func(accountID string) (store.SyncLog, error) {
		if l, ok := logs[accountID]; ok {
			return l, nil
		}
		l, err := st.BeginSync(ctx, store.SyncStart{SyncID: "write-path-" + accountID, RunID: "r", AccountID: accountID, ExpireDays: 400,
			WindowBegin: now.AddDate(0, 0, -40), WindowEnd: now.AddDate(0, 0, 400)}, nil)
		logs[accountID] = l
		return l, err
	}
	err = eachChunk(ctx, synced, func(chunk []store.ExpiringResource) error {
		staged := map[string][]store.SnapshotEntry{}
		for _, r := range chunk {
			if r.TagStatus == string(inventory.TagsOK) {
				staged[r.AccountID] = append(staged[r.AccountID], store.SnapshotEntry{ResourceID: r.ResourceID, Tags: r.Tags})
			}
		}
		for account, entries := range staged {
			l, err := logOf(account)
			if err != nil {
				return err
			}
			if err := st.SaveTagSnapshot(ctx, l.Writer(), entries); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var took time.Duration
	n, batch := 0, map[string]int{}
	err = eachChunk(ctx, synced, func(chunk []store.ExpiringResource) error {
		rows := map[string][]inventory.Row{}
		for _, r := range chunk {
			rows[r.AccountID] = append(rows[r.AccountID], inventory.Row{Resource: inventory.Resource{ResourceID: r.ResourceID, Name: r.ResourceName,
				RegionCode: r.RegionCode, ProjectID: r.ProjectID, ServiceTypeCode: r.ServiceTypeCode,
				ResourceTypeCode: r.ResourceTypeCode, ResourceSpecCode: r.ResourceSpecCode, ParentResourceID: r.ParentResourceID,
				IsMainResource: r.IsMainResource, Status: r.Status, ExpireTime: r.ExpireTime, ExpirePolicy: r.ExpirePolicy,
				EnterpriseProjectID: r.EnterpriseProjectID},
				Tags: inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagStatus(r.TagStatus), Error: r.TagError}})
		}
		for account, rs := range rows {
			l, err := logOf(account)
			if err != nil {
				return err
			}
			batch[account]++
			var tagged []string
			for _, r := range rs {
				if r.Tags.Status == inventory.TagsOK {
					tagged = append(tagged, r.ResourceID)
				}
			}
			start := time.Now()
			staged, err := st.SnapshotTags(ctx, l.Writer().Attempt(), tagged)
			if err != nil {
				return err
			}
			if _, err := st.CommitBatch(ctx, store.BatchCommit{Writer: l.Writer(), Batch: batch[account],
				Rows: rs, SyncedAt: now, StagedTags: staged}); err != nil {
				return err
			}
			took += time.Since(start)
			n += len(rs)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if took == 0 {
		return 0, fmt.Errorf("no rows to replay through the write path")
	}
	return float64(n) / took.Seconds(), nil
}

// writeTimeline writes every completed activity of the syncs as CSV
// (account, activity, scheduled, started, completed: seconds since the
// sync's first event), to see where a run's time goes.
func writeTimeline(path string, accounts []*benchAccount) error {
	var b strings.Builder
	b.WriteString("account,activity,scheduled_s,started_s,completed_s\n")
	for _, a := range accounts {
		t0 := a.hist.first
		for _, st := range a.hist.timeline {
			fmt.Fprintf(&b, "%s,%s,%.3f,%.3f,%.3f\n", a.name, st.activity,
				st.scheduled.Sub(t0).Seconds(), st.started.Sub(t0).Seconds(), st.finished.Sub(t0).Seconds())
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
