package workflows

import (
	"expiry-sync/internal/contract"
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"
)

// Pages by reference, in bulk tag mode: ListPage stages each page in the
// database and CommitPage writes it, so a page crosses history as a key
// and a few counts, never as its resources. The listing runs ahead of the
// commits at BSS's rate; the bulk tag snapshots of the project/type pairs
// a page holds start as soon as it is listed; pages are committed in
// order, each once its pairs are read. The overlap check moves to
// CommitPage, which compares the page with the last committed one.
const (
	// listInFlight: ListPage activities at once. One takes 20–200 ms end
	// to end and BSS allows one call per 100 ms: three keep the listing at
	// the limit, which the worker's limiter keeps.
	listInFlight = 3
	// listAhead: pages listed and not yet committed, at most.
	listAhead = 12
)

// Versions of the workflow's command sequence (workflow.GetVersion).
const (
	// versionPagesByReference stages pages in the database in bulk mode
	// and writes each with one CommitPage.
	versionPagesByReference = "pages-by-reference"
	pagesByReference        = 1
)

// stagedPage is one page of the pipeline.
type stagedPage struct {
	offset int
	key    int64
	done   bool // listed (or failed: err)
	err    error
	page   contract.ListPageResult
}

// pipe is the pipeline's state.
type pipe struct {
	s     *syncRun
	pages []*stagedPage // being listed or listed, uncommitted, in order
	next  int           // where the next page is listed
	total int           // BSS's total_count as last seen (-1: unknown)
	stop  bool          // no more listing: the run hands over
	// listCtx: the ListPage activities', canceled when the listing starts
	// over (it shifted, or a page was shorter than guessed).
	listCtx    workflow.Context
	cancelList workflow.CancelFunc
	reading    []string // pairs whose SnapshotTags is in flight
	snapshots  int      // SnapshotTags in flight
	snapErr    error
}

// pipeline commits the staged pages from the checkpoint on, with first
// already listed (or nil). It returns done=false when the run should
// continue as new, every listed page being committed.
func (s *syncRun) pipeline(ctx workflow.Context, first *stagedPage) (done bool, err error) {
	c := &s.cursor
	c.ByReference = true
	p := &pipe{s: s, total: -1}
	p.restart(ctx, c.NextOffset)
	if first != nil {
		p.pages, p.total, p.next = []*stagedPage{first}, first.page.TotalCount, first.offset+s.step()
		p.startSnapshots(ctx, first.page)
	}
	defer func() {
		p.cancelList()
		if werr := workflow.Await(ctx, func() bool { return p.snapshots == 0 }); err == nil {
			err = werr
		}
	}()
	back := s.overlap()
	for {
		p.fill(ctx)
		if len(p.pages) == 0 {
			return false, nil // handing over: everything listed is committed
		}
		head := p.pages[0]
		s.setPhase(ctx, fmt.Sprintf("listing ahead of BSS's total %d; next to write: offset %d", p.total, head.offset))
		if err := workflow.Await(ctx, func() bool { return head.err != nil || p.snapErr != nil || (head.done && s.pairsRead(head.page)) }); err != nil {
			return false, err
		}
		if err := firstOf(head.err, p.snapErr); err != nil {
			return false, err
		}
		res, err := s.commitPage(ctx, head)
		if err != nil {
			return false, err
		}
		if !res.Connected {
			// The listing shifted under the sync: list again further back
			// until a page overlaps the last one committed.
			s.progress().ListingShifts++
			p.restart(ctx, max(0, head.offset-back))
			back *= 2
			continue
		}
		back = s.overlap()
		p.pages = p.pages[1:]
		if !s.more(head.offset, head.page) {
			return true, nil
		}
		if len(p.pages) == 0 || p.pages[0].offset != c.NextOffset {
			p.restart(ctx, c.NextOffset) // the page was shorter than the guess
		}
		if s.shouldContinueAsNew(ctx) {
			p.stop = true
		}
	}
}

// step is how far apart full pages start: a page less the overlap.
func (s *syncRun) step() int { return s.in.PageSize - s.overlap() }

// restart drops the pages listed ahead and lists again from offset.
func (p *pipe) restart(ctx workflow.Context, offset int) {
	if p.cancelList != nil {
		p.cancelList()
	}
	p.listCtx, p.cancelList = workflow.WithCancel(ctx)
	p.pages, p.next = nil, offset
}

// fill lists pages ahead: while BSS's total says there are more, up to
// listInFlight at once and listAhead in all; the page after the last
// committed one whatever the total said.
func (p *pipe) fill(ctx workflow.Context) {
	// The page before p.next ends at p.next+overlap: past the total, it
	// was the last.
	for !p.stop && len(p.pages) < listAhead && p.listing() < listInFlight && p.total >= 0 && p.next+p.s.overlap() < p.total {
		p.list(ctx)
	}
	if !p.stop && len(p.pages) == 0 {
		p.list(ctx)
	}
}

func (p *pipe) listing() int {
	n := 0
	for _, sp := range p.pages {
		if !sp.done {
			n++
		}
	}
	return n
}

// list starts listing the page at p.next.
func (p *pipe) list(ctx workflow.Context) {
	s := p.s
	sp := &stagedPage{offset: p.next, key: s.nextPageKey()}
	p.pages = append(p.pages, sp)
	p.next += s.step()
	f := s.listPageAt(p.listCtx, sp.offset, nil, 1, sp.key)
	workflow.Go(ctx, func(ctx workflow.Context) {
		sp.err = f.Get(ctx, &sp.page)
		sp.done = true
		if sp.err != nil {
			return
		}
		s.recordPage(sp.page, sp.offset)
		if sp.page.TotalCount >= 0 {
			p.total = sp.page.TotalCount
		}
		p.startSnapshots(ctx, sp.page)
		p.fill(ctx)
	})
}

// startSnapshots reads in bulk the pairs of a page the sync has not read
// or started reading yet, without waiting for them.
func (p *pipe) startSnapshots(ctx workflow.Context, page contract.ListPageResult) {
	s := p.s
	for _, pc := range page.Pairs {
		if s.pairKnown(pc.Pair) || slices.Contains(p.reading, pc.Pair) {
			continue
		}
		p.reading = append(p.reading, pc.Pair)
		expected := pc.Resources
		if page.Received > 0 && page.TotalCount > page.Received {
			expected = pc.Resources * page.TotalCount / page.Received
		}
		f := s.snapshotPair(ctx, pc.Pair, expected)
		p.snapshots++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { p.snapshots-- }()
			var r contract.SnapshotTagsResult
			err := f.Get(ctx, &r)
			p.reading = slices.DeleteFunc(p.reading, func(x string) bool { return x == pc.Pair })
			if err := s.recordSnapshot(pc.Pair, r, err); err != nil && p.snapErr == nil {
				p.snapErr = err
			}
		})
	}
}

// pairKnown: the sync read the pair in bulk, or knows it cannot.
func (s *syncRun) pairKnown(pair string) bool {
	return slices.Contains(s.cursor.Snapshots, pair) || slices.Contains(s.cursor.NoBulk, pair)
}

// pairsRead: every pair of the page is read in bulk, or known not to be.
func (s *syncRun) pairsRead(page contract.ListPageResult) bool {
	for _, pc := range page.Pairs {
		if !s.pairKnown(pc.Pair) {
			return false
		}
	}
	return true
}

func (s *syncRun) nextPageKey() int64 {
	s.cursor.PageKeys++
	return s.cursor.PageKeys
}

// commitPage writes a staged page and moves the checkpoint past it, unless
// the page does not overlap the last committed one.
func (s *syncRun) commitPage(ctx workflow.Context, sp *stagedPage) (contract.CommitPageResult, error) {
	c, p := &s.cursor, s.progress()
	batch, next := c.LastCommittedBatch+1, sp.offset+s.advance(sp.page)
	in := contract.CommitPageInput{
		Account: s.in.Account, SyncID: s.syncID, Generation: c.Generation, LeaseToken: c.LeaseToken, PageKey: sp.key,
		Offset: sp.offset, Batch: batch, Anchor: c.Anchor, NextOffset: next, Tail: sp.page.Tail,
		BatchSize: s.in.BatchSize, SyncedAt: workflow.Now(ctx).UTC(), Denied: c.Denied,
	}
	s.setWriting(ctx, fmt.Sprintf("writing batch %d: the page at offset %d", batch, sp.offset))
	var res contract.CommitPageResult
	opts := commitPageOptions(fmt.Sprintf("page at offset %d: batch %d", sp.offset, batch))
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), contract.ActivityCommitPage, in).Get(ctx, &res)
	s.setWriting(ctx, "")
	if err != nil {
		p.Failures++
		return res, err
	}
	p.Retries += res.Retries
	if !res.Connected {
		return res, nil
	}
	c.LastCommittedBatch, c.NextOffset, c.NextRow, c.Anchor = batch, next, 0, sp.page.Tail
	p.BatchesCommitted++
	p.RowsCommitted += res.Rows
	p.TagsFetched += res.Tagged + res.TagErrors + res.Vanished
	p.TagErrors += res.TagErrors
	p.Vanished += res.Vanished
	p.TagsUnsupported += res.Unsupported
	s.noteDenied(res.Denied)
	s.upsertAttributes(ctx, contract.StatusRunning, p.RowsCommitted)
	return res, nil
}
