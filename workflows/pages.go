package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
)

// maxOverlap is how many ids consecutive pages share. BSS pages by offset
// in an undocumented order; a resource leaving the window before the
// sync's offset shifts the rest back, and one could slide across a page
// boundary unseen. A page that still overlaps the previous one proves that
// no resource slid past (under any stable order): when it does not, the
// sync lists again further back. 10 of 500 costs 2 % more records.
const maxOverlap = 10

// pageWork is one listed page whose tags are read, ready to commit.
type pageWork struct {
	offset   int    // listing offset of the page
	next     int    // offset of the page after it
	anchorIn anchor // what this page was checked to overlap
	tail     anchor // what the next page must overlap
	firstRow int    // rows of the page committed before (a resume; the first version only)
	received int    // records BSS returned, before de-duplication
	rows     []inventory.Row
}

// anchor is what the page after a listed one must overlap (see
// activities/boundary.go): the ids the page ended with, and its last tie
// when it was sorted by expire time.
type anchor struct {
	ids     []string
	before  time.Time
	lead    int
	through time.Time
}

// anchorOf is the anchor a listed page leaves for the next.
func anchorOf(page contract.ListPageResult) anchor {
	return anchor{ids: page.Tail, before: page.Before, lead: page.Lead, through: page.Through}
}

// anchor is the anchor of the checkpoint.
func (c *Cursor) anchor() anchor {
	return anchor{ids: c.Anchor, before: c.AnchorBefore, lead: c.AnchorLead, through: c.AnchorThrough}
}

// setAnchor moves the checkpoint's anchor.
func (c *Cursor) setAnchor(a anchor) {
	c.Anchor, c.AnchorBefore, c.AnchorLead, c.AnchorThrough = a.ids, a.before, a.lead, a.through
}

// syncPages runs the pages as a pipeline: while the tags of page p are
// read, page p+1 is already being listed and page p-1 committed, so neither
// BSS latency nor database writes add to the tag phase. Commits stay in page
// order in one goroutine, so the checkpoint always moves forward. It returns
// done=false when the run should continue as new; the cursor is then the
// committed checkpoint, every listed page being committed.
func (s *syncRun) syncPages(ctx workflow.Context) (done bool, err error) {
	c := &s.cursor
	if c.ByReference {
		return s.pipeline(ctx, nil)
	}
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
				s.upsertAttributes(ctx, contract.StatusRunning, s.progress().RowsCommitted)
			}
		}
		committed.Send(ctx, struct{}{})
	})
	drain := func() error {
		commits.Close()
		committed.Receive(ctx, nil)
		return commitErr
	}

	offset, firstRow, anchor := c.NextOffset, c.NextRow, c.anchor()
	back := s.overlap()
	next := s.listPage(ctx, offset, anchor)
	for {
		if s.shouldContinueAsNew(ctx) {
			return false, drain()
		}
		var page contract.ListPageResult
		if err := next.Get(ctx, &page); err != nil {
			return false, firstOf(drain(), err)
		}
		s.recordPage(page, offset)
		if s.v.leasedListing() && !page.Connected {
			// The listing shifted under the sync: list again further back
			// until the page overlaps the last one taken.
			s.progress().ListingShifts++
			offset, back = max(0, offset-back), 2*back
			next = s.listPage(ctx, offset, anchor)
			continue
		}
		if page.Staged {
			// Bulk mode: the rest of the sync goes by reference.
			if err := drain(); err != nil {
				return false, err
			}
			return s.pipeline(ctx, &stagedPage{offset: offset, key: c.PageKeys, done: true, page: page})
		}
		if s.v.leasedListing() {
			s.noteListed(offset, page)
		}
		back = s.overlap()
		nextOffset, more := offset+s.advance(page), s.more(offset, page)
		if more && !s.shouldContinueAsNew(ctx) {
			next = s.listPage(ctx, nextOffset, anchorOf(page)) // prefetch while this page's tags are read
		}
		pending := page.Resources
		if !s.v.leasedListing() {
			pending = pending[min(firstRow, len(pending)):]
		}
		tags, err := s.fetchTags(ctx, offset, pending)
		if err == nil && commitErr != nil {
			err = commitErr
		}
		if err != nil {
			return false, firstOf(drain(), err)
		}
		commits.Send(ctx, pageWork{offset: offset, next: nextOffset, anchorIn: anchor, tail: anchorOf(page),
			firstRow: firstRow, received: page.Received,
			rows: append(joinTags(pending, tags), keptTags(page.Known)...)})
		if !more {
			s.setPhase(ctx, "writing the last page")
			return true, drain()
		}
		offset, firstRow, anchor = nextOffset, 0, anchorOf(page)
		if s.shouldContinueAsNew(ctx) {
			// The next page was not prefetched: hand over once this one is committed.
			return false, drain()
		}
	}
}

// overlap is how many ids consecutive pages share: at least one, up to a
// quarter of a page (none in the first version).
func (s *syncRun) overlap() int {
	if !s.v.leasedListing() {
		return 0
	}
	return max(1, min(maxOverlap, s.in.PageSize/4))
}

// advance is how far the next page starts after this one: where the
// listing said (before it said, the page less the overlap).
func (s *syncRun) advance(page contract.ListPageResult) int {
	if page.Advance > 0 {
		return page.Advance
	}
	if n := s.overlap(); page.Received > n {
		return page.Received - n
	}
	return page.Received
}

// more says whether the listing goes on after this page.
func (s *syncRun) more(offset int, page contract.ListPageResult) bool {
	switch {
	case !s.v.leasedListing():
		return page.Received > 0 && offset+page.Received < page.TotalCount
	case page.Received == 0:
		return false
	case page.TotalCount >= 0:
		return offset+page.Received < page.TotalCount
	}
	return page.Received == s.in.PageSize // no total_count: go on until a short page
}

func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// listPage lists the page at offset, staged in bulk mode from the first
// version that stages pages.
func (s *syncRun) listPage(ctx workflow.Context, offset int, anchor anchor) workflow.Future {
	stageFrom, key := s.stageFrom(), int64(0)
	if stageFrom > 0 {
		key = s.nextPageKey()
	}
	return s.listPageAt(ctx, offset, anchor, stageFrom, key)
}

// stageFrom is the BSS total from which pages are staged: bulk tag mode's
// (see ListPageInput.StageFrom).
func (s *syncRun) stageFrom() int {
	if !s.v.stagesPages() || !s.v.leasedListing() {
		return 0
	}
	switch s.in.TagMode {
	case TagModeBulk:
		return 1
	case TagModeAuto:
		return AutoBulkResources
	}
	return 0
}

func (s *syncRun) listPageAt(
	ctx workflow.Context,
	offset int,
	anchor anchor,
	stageFrom int,
	key int64,
) workflow.Future {
	c := &s.cursor
	in := contract.ListPageInput{
		Account: s.in.Account, WindowBegin: c.WindowBegin, WindowEnd: c.WindowEnd, Statuses: s.in.Statuses,
		Offset: offset, Limit: s.in.PageSize, StageFrom: stageFrom, PageKey: key,
	}
	if s.v.leasedListing() {
		in.SyncID, in.Generation, in.Anchor, in.Overlap = s.syncID, c.Generation, anchor.ids, s.overlap()
		in.Before, in.Lead, in.Through, in.LeaseToken = anchor.before, anchor.lead, anchor.through, c.LeaseToken
	}
	return workflow.ExecuteActivity(
		workflow.WithActivityOptions(ctx, listOptions(fmt.Sprintf("list offset %d", offset))),
		contract.ActivityListPage,
		in,
	)
}

func (s *syncRun) recordPage(page contract.ListPageResult, offset int) {
	p := s.progress()
	s.cursor.Listing.Observe(page.TotalCount)
	p.PagesListed++
	p.ResourcesListed += len(page.Resources)
	if page.Staged {
		p.ResourcesListed += page.Received - len(page.Quarantined)
	}
	p.TotalCount = page.TotalCount
	p.Retries += page.Retries
	for _, q := range page.Quarantined {
		p.Quarantined++
		s.cursor.Notes.QuarantinedCount++
		addNote(
			&s.cursor.Notes.Quarantined,
			fmt.Sprintf("offset %d: record %q skipped: %s", offset, q.ResourceID, q.Reason),
		)
	}
}

// noteListed records, for FinishSync's count of what the listing saw, a
// page the listing took: its unreadable records beyond what the pages
// before it covered (pages overlap), and why no overlap could prove the
// listing around it.
func (s *syncRun) noteListed(offset int, page contract.ListPageResult) {
	c := &s.cursor
	for _, q := range page.Quarantined {
		if q.Offset >= c.ListedTo {
			c.Listing.Quarantined++
		}
	}
	c.ListedTo = max(c.ListedTo, offset+page.Received)
	s.noteDoubt(page.Doubt)
}

// noteDoubt records why no overlap could prove the listing around a page.
func (s *syncRun) noteDoubt(doubt string) {
	if doubt != "" {
		addNote(&s.cursor.Listing.Doubts, doubt)
	}
}

// keptTags are rows an earlier attempt of the sync wrote: written again
// with BSS's current fields, their stored tags kept.
func keptTags(resources []inventory.Resource) []inventory.Row {
	rows := make([]inventory.Row, len(resources))
	for i, r := range resources {
		rows[i] = inventory.Row{
			Resource: r,
			Tags:     inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsKept},
		}
	}
	return rows
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
		in := contract.CommitBatchInput{
			Account: s.in.Account, SyncID: s.syncID, Batch: batch, NextOffset: w.offset, NextRow: row + len(b),
			SyncedAt: syncedAt, Rows: b, Generation: c.Generation, LeaseToken: c.LeaseToken, Anchor: w.anchorIn.ids,
		}
		at := w.anchorIn
		if i == len(batches)-1 {
			in.NextOffset, in.NextRow, in.Anchor, at = w.next, 0, w.tail.ids, w.tail
		}
		s.setWriting(ctx, fmt.Sprintf("writing batch %d (%d rows) at offset %d", batch, len(b), w.offset))
		var res contract.CommitBatchResult
		opts := dbOptions(fmt.Sprintf("batch %d: %d rows at offset %d", batch, len(b), w.offset))
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), contract.ActivityCommitBatch, in).
			Get(ctx, &res); err != nil {
			p.Failures++
			return err
		}
		row += len(b)
		c.LastCommittedBatch, c.NextOffset, c.NextRow = batch, in.NextOffset, in.NextRow
		c.setAnchor(at)
		p.BatchesCommitted++
		p.RowsCommitted += len(b)
		p.Retries += res.Retries
	}
	// A page with nothing left to write still moves the cursor past it.
	c.NextOffset, c.NextRow = w.next, 0
	c.setAnchor(w.tail)
	s.setWriting(ctx, "")
	return nil
}
