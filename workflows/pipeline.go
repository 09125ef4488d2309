package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"expiry-sync/activities"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// pageWork is one listed page whose tags are read, ready to commit.
type pageWork struct {
	offset   int // listing offset of the page
	firstRow int // rows of the page committed before (a resume)
	received int // records BSS returned, before de-duplication
	rows     []inventory.Row
}

// syncPages runs the pages as a pipeline: while the tags of page p are
// read, page p+1 is already being listed and page p-1 committed, so neither
// BSS latency nor database writes add to the tag phase. Commits stay in page
// order in one goroutine, so the checkpoint always moves forward. It returns
// done=false when the run should continue as new; the cursor is then the
// committed checkpoint, every listed page being committed.
func (s *syncRun) syncPages(ctx workflow.Context) (done bool, err error) {
	c := &s.cursor
	commits := workflow.NewBufferedChannel(ctx, 1)
	var commitErr error
	committed := workflow.NewChannel(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var w pageWork
			if !commits.Receive(ctx, &w) {
				break
			}
			if commitErr == nil {
				commitErr = s.commit(ctx, w)
				s.upsertAttributes(ctx, store.StatusRunning, s.progress().RowsCommitted)
			}
		}
		committed.Send(ctx, struct{}{})
	})
	drain := func() error {
		commits.Close()
		committed.Receive(ctx, nil)
		return commitErr
	}

	offset, firstRow := c.NextOffset, c.NextRow
	next := s.listPage(ctx, offset)
	for {
		if s.shouldContinueAsNew(ctx) {
			return false, drain()
		}
		var page activities.ListPageResult
		if err := next.Get(ctx, &page); err != nil {
			return false, firstOf(drain(), err)
		}
		s.recordPage(page)
		more := page.Received > 0 && offset+page.Received < page.TotalCount
		if more && !s.shouldContinueAsNew(ctx) {
			next = s.listPage(ctx, offset+page.Received) // prefetch while this page's tags are read
		}
		pending := page.Resources[min(firstRow, len(page.Resources)):]
		tags, err := s.fetchTags(ctx, offset, pending)
		if err == nil && commitErr != nil {
			err = commitErr
		}
		if err != nil {
			return false, firstOf(drain(), err)
		}
		commits.Send(ctx, pageWork{offset: offset, firstRow: firstRow, received: page.Received, rows: joinTags(pending, tags)})
		if !more {
			s.setPhase(ctx, "writing the last page")
			return true, drain()
		}
		offset, firstRow = offset+page.Received, 0
		if s.shouldContinueAsNew(ctx) {
			// The next page was not prefetched: hand over once this one is committed.
			return false, drain()
		}
	}
}

func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (s *syncRun) listPage(ctx workflow.Context, offset int) workflow.Future {
	c := &s.cursor
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, listOptions(fmt.Sprintf("list offset %d", offset))),
		a.ListPage, activities.ListPageInput{
			WindowBegin: c.WindowBegin, WindowEnd: c.WindowEnd, Statuses: s.in.Statuses, Offset: offset, Limit: s.in.PageSize,
		})
}

func (s *syncRun) recordPage(page activities.ListPageResult) {
	p := s.progress()
	p.PagesListed++
	p.ResourcesListed += len(page.Resources)
	p.TotalCount = page.TotalCount
	p.Retries += page.Retries
}

func joinTags(resources []inventory.Resource, tags map[string]inventory.TagResult) []inventory.Row {
	rows := make([]inventory.Row, len(resources))
	for i, r := range resources {
		rows[i] = inventory.Row{Resource: r, Tags: tags[r.ResourceID]}
	}
	return rows
}

// commit writes a page's rows in order, one activity per batch; each batch
// records where the next one starts, and the last one the next page.
func (s *syncRun) commit(ctx workflow.Context, w pageWork) error {
	c, p := &s.cursor, s.progress()
	batches := chunk(w.rows, s.in.BatchSize, maxBatchBytes)
	syncedAt := workflow.Now(ctx).UTC()
	row := w.firstRow
	for i, b := range batches {
		batch := c.LastCommittedBatch + 1
		in := activities.CommitBatchInput{
			SyncID: s.syncID, Batch: batch, NextOffset: w.offset, NextRow: row + len(b), SyncedAt: syncedAt, Rows: b,
		}
		if i == len(batches)-1 {
			in.NextOffset, in.NextRow = w.offset+w.received, 0
		}
		s.setWriting(ctx, fmt.Sprintf("writing batch %d (%d rows) at offset %d", batch, len(b), w.offset))
		var res activities.CommitBatchResult
		opts := dbOptions(fmt.Sprintf("batch %d: %d rows at offset %d", batch, len(b), w.offset))
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.CommitBatch, in).Get(ctx, &res); err != nil {
			p.Failures++
			return err
		}
		row += len(b)
		c.LastCommittedBatch, c.NextOffset, c.NextRow = batch, in.NextOffset, in.NextRow
		p.BatchesCommitted++
		p.RowsCommitted += len(b)
		p.Retries += res.Retries
	}
	// A page with nothing left to write still moves the cursor past it.
	c.NextOffset, c.NextRow = w.offset+w.received, 0
	s.setWriting(ctx, "")
	return nil
}
