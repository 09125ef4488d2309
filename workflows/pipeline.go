package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
)

// Pages by reference, in bulk tag mode: ListPage stages each page in the
// database and CommitPage writes it, so a page crosses history as a key
// and a few counts, never as its resources. The listing runs ahead of the
// commits at BSS's rate; the bulk tag snapshots of the project/type pairs
// a page holds start as soon as it is listed; pages are committed in
// order, each once its pairs are read. The overlap check moves to
// CommitPage, which compares the page with the last committed one.
const (
	// listInFlight: ListPage activities at once: enough to keep the
	// listing at BSS's rate, which the worker's limiter keeps (the figures:
	// docs/performance.md, "The constants").
	listInFlight = 3
	// listAhead: pages listed and not yet committed, at most (before
	// deepListing: shallowListAhead). The commits wait for the bulk tag
	// snapshots at first: enough pages keep the listing at BSS's rate
	// meanwhile. A staged page is a row of the database; in history it is
	// a key.
	listAhead        = 64
	shallowListAhead = 12
	// commitPages: consecutive pages one CommitPage writes at most, when
	// they are ready: each commit costs a workflow task, an activity
	// dispatch and a transaction besides its rows.
	commitPages = 4
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
		if err := workflow.Await(ctx, func() bool {
			return head.err != nil || p.snapErr != nil || (head.done && s.pairsRead(head.page))
		}); err != nil {
			return false, err
		}
		if err := firstOf(head.err, p.snapErr); err != nil {
			return false, err
		}
		group := p.ready()
		n, err := s.commitPages(ctx, group)
		if err != nil {
			return false, err
		}
		if n > 0 {
			back = s.overlap()
			p.pages = p.pages[n:]
			if last := group[n-1]; !s.more(last.offset, last.page) {
				return true, nil
			}
		}
		if n < len(group) {
			// The listing shifted under the sync: list again further back
			// until a page overlaps the last one committed.
			s.progress().ListingShifts++
			p.restart(ctx, max(0, group[n].offset-back))
			back *= 2
			continue
		}
		if len(p.pages) == 0 || p.pages[0].offset != c.NextOffset {
			p.restart(ctx, c.NextOffset) // the page was shorter than the guess
		}
		if s.shouldContinueAsNew(ctx) {
			p.stop = true
		}
	}
}

// ready is the head page and the pages after it that can be written with
// it: listed, their pairs read, each starting where the one before ends.
func (p *pipe) ready() []*stagedPage {
	s := p.s
	group := []*stagedPage{p.pages[0]}
	if !s.v.groupsCommits() {
		return group
	}
	for _, sp := range p.pages[1:] {
		prev := group[len(group)-1]
		if len(group) == commitPages || !sp.done || sp.err != nil || !s.pairsRead(sp.page) ||
			!s.more(prev.offset, prev.page) || sp.offset != prev.offset+s.advance(prev.page) {
			break
		}
		group = append(group, sp)
	}
	return group
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
	for !p.stop && len(p.pages) < p.ahead() && p.listing() < listInFlight && p.total >= 0 &&
		p.next+p.s.overlap() < p.total {
		p.list(ctx)
	}
	if !p.stop && len(p.pages) == 0 {
		p.list(ctx)
	}
}

// ahead is how many pages may be listed and not yet committed.
func (p *pipe) ahead() int {
	if !p.s.v.listsDeep() {
		return shallowListAhead
	}
	return listAhead
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
	f := s.listPageAt(p.listCtx, sp.offset, anchor{}, 1, sp.key)
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

// shapeOf is what CommitPage needs of a listed page to check that the
// next one follows it (see contract.Shape).
func shapeOf(page contract.ListPageResult) contract.Shape {
	sh := contract.Shape{Head: page.Head, Before: page.Before, Lead: page.Lead, Through: page.Through}
	for _, q := range page.Quarantined {
		if q.ResourceID != "" {
			sh.QuarantinedIDs = append(sh.QuarantinedIDs, q.ResourceID)
		}
	}
	return sh
}

// commitPages writes staged pages, the first of which follows the last
// committed one, and moves the checkpoint past the last written. It says
// how many it wrote: fewer than given when a page does not overlap the one
// before it (the listing shifted there).
func (s *syncRun) commitPages(ctx workflow.Context, group []*stagedPage) (int, error) {
	c, p := &s.cursor, s.progress()
	first, batch := group[0], c.LastCommittedBatch+1
	in := contract.CommitPageInput{
		Account: s.in.Account, SyncID: s.syncID, Generation: c.Generation, LeaseToken: c.LeaseToken, PageKey: first.key,
		Offset: first.offset, Batch: batch,
		Anchor: c.Anchor, AnchorBefore: c.AnchorBefore, AnchorLead: c.AnchorLead, AnchorThrough: c.AnchorThrough,
		NextOffset: first.offset + s.advance(first.page), Tail: first.page.Tail, Shape: shapeOf(first.page),
		BatchSize: s.in.BatchSize, SyncedAt: workflow.Now(ctx).UTC(), Denied: c.Denied, Denials: c.Denials,
	}
	for _, sp := range group[1:] {
		in.More = append(in.More, contract.PageRef{
			PageKey:    sp.key,
			Offset:     sp.offset,
			NextOffset: sp.offset + s.advance(sp.page),
			Tail:       sp.page.Tail,
			Shape:      shapeOf(sp.page),
		})
	}
	what := fmt.Sprintf("the page at offset %d", first.offset)
	if len(group) > 1 {
		what = fmt.Sprintf("%d pages from offset %d", len(group), first.offset)
	}
	s.setWriting(ctx, fmt.Sprintf("writing batch %d: %s", batch, what))
	var res contract.CommitPageResult
	opts := commitPageOptions(fmt.Sprintf("%s: batch %d", what, batch))
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), contract.ActivityCommitPage, in).
		Get(ctx, &res)
	s.setWriting(ctx, "")
	if err != nil {
		p.Failures++
		return 0, err
	}
	p.Retries += res.Retries
	if !res.Connected {
		return 0, nil
	}
	n := min(max(res.Pages, 1), len(group))
	last := group[n-1]
	c.LastCommittedBatch, c.NextOffset, c.NextRow = batch, last.offset+s.advance(last.page), 0
	c.setAnchor(anchorOf(last.page))
	for _, sp := range group[:n] {
		s.noteListed(sp.offset, sp.page)
	}
	s.noteDoubt(res.Doubt)
	p.BatchesCommitted++
	p.RowsCommitted += res.Rows
	p.TagsFetched += res.Tagged + res.TagErrors + res.Vanished
	p.TagErrors += res.TagErrors
	p.Vanished += res.Vanished
	p.TagsUnsupported += res.Unsupported
	s.noteDenied(res.Denied)
	s.noteDenials(res.Denials)
	s.upsertAttributes(ctx, contract.StatusRunning, p.RowsCommitted)
	return n, nil
}
