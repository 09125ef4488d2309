package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// CommitPage writes staged pages (one, or a run of consecutive ones) and
// the checkpoint after the last, in one transaction. It leaves out what the
// sync wrote already (the previous page's overlap, a page listed again),
// keeps the tags of the rows an earlier attempt wrote, and takes the
// others' tags from the sync's snapshot; a resource the snapshot lacks is
// read on its own here, its tags staged so that a retry does not read them
// again. A page that does not overlap the one before it ends the run: the
// listing shifted there.
func (a *Activities) CommitPage(ctx context.Context, in contract.CommitPageInput) (contract.CommitPageResult, error) {
	defer keepAlive(ctx, nil)()
	acc, err := a.account(in.Account)
	if err != nil {
		return contract.CommitPageResult{}, err
	}
	refs := in.Pages()
	seen := map[string]bool{} // one row per resource, whatever the pages repeat
	staged := map[string]string{}
	var keys []store.PageKey
	var rows []inventory.Row
	res := contract.CommitPageResult{Connected: true}
	prev := contract.PageRef{
		Tail:  in.Anchor,
		Shape: contract.Shape{Before: in.AnchorBefore, Lead: in.AnchorLead, Through: in.AnchorThrough},
	}
	reads := a.readPages(ctx, acc, in, refs)
	for i, ref := range refs {
		r := reads[i]
		if r.err != nil {
			if i == 0 && errors.Is(r.err, store.ErrPageNotStaged) {
				return a.pageGone(ctx, in, refs, r.err)
			}
			return contract.CommitPageResult{}, databaseError(r.failed, r.err)
		}
		ok, doubt := follows(prev, ref, r.resources)
		if !ok {
			activity.GetLogger(ctx).Info("the listing shifted: page not written", "sync_id", in.SyncID,
				"account", acc.Name, "offset", ref.Offset)
			break
		}
		page, err := a.pageRows(ctx, acc, in, prev.Tail, seen, staged, r, &res)
		if err != nil {
			return contract.CommitPageResult{}, err
		}
		rows, keys, prev = append(rows, page...), append(keys, r.key), ref
		res.Doubt = cmp.Or(res.Doubt, doubt)
	}
	if len(keys) == 0 {
		return contract.CommitPageResult{Retries: retries(ctx)}, nil
	}
	last := refs[len(keys)-1]
	start := time.Now()
	res.Applied, err = a.Store.CommitBatch(ctx, store.BatchCommit{
		Writer: acc.writer(in.SyncID, in.Generation, in.LeaseToken),
		Batch:  in.Batch, NextOffset: last.NextOffset, Anchor: last.Tail, Rows: rows, SyncedAt: in.SyncedAt,
		StagedTags: staged, ChunkRows: in.BatchSize, Pages: keys,
	})
	if err != nil {
		return contract.CommitPageResult{}, writeError(
			fmt.Sprintf("page at offset %d (batch %d)", in.Offset, in.Batch),
			err,
		)
	}
	a.Store.ForgetSnapshot(
		store.Attempt{SyncID: in.SyncID, Generation: in.Generation},
		slices.Collect(maps.Keys(staged)),
	)
	res.Pages, res.Rows, res.Retries = len(keys), len(rows), retries(ctx)+res.Retries
	res.WriteMS = float64(time.Since(start).Microseconds()) / 1000
	a.Metrics.BatchCommitted(acc.Name, len(rows), res.Applied)
	activity.GetLogger(ctx).Info("committed pages", "sync_id", in.SyncID, "account", acc.Name, "offset", in.Offset,
		"batch", in.Batch, "pages", res.Pages, "rows", res.Rows, "kept", res.Kept, "tag_calls", res.TagCalls,
		"applied", res.Applied, "write_ms", res.WriteMS)
	return res, nil
}

// pageGone answers a first page that is no longer staged: committed by an
// earlier attempt of this activity (whose result was lost), or a failure.
// The checkpoint's offset tells how many of the pages that attempt wrote.
func (a *Activities) pageGone(
	ctx context.Context,
	in contract.CommitPageInput,
	refs []contract.PageRef,
	cause error,
) (contract.CommitPageResult, error) {
	log, err := a.Store.GetSyncLog(ctx, in.SyncID)
	if err != nil {
		return contract.CommitPageResult{}, databaseError("read the sync log", err)
	}
	if log.Generation == in.Generation && log.LastCommittedBatch >= in.Batch {
		pages := 1
		for i, ref := range refs {
			if ref.NextOffset == log.NextOffset {
				pages = i + 1
			}
		}
		return contract.CommitPageResult{Connected: true, Pages: pages, Retries: retries(ctx)}, nil
	}
	return contract.CommitPageResult{}, databaseError(fmt.Sprintf("page at offset %d", in.Offset), cause)
}

// follows says whether a staged page proves it follows prev, the page
// written before it, with nothing slid past between them (see
// overlapped); the first page of a listing follows nothing, and an empty
// one has nothing to show.
func follows(prev, page contract.PageRef, resources []inventory.Resource) (bool, string) {
	if page.Offset == 0 || (len(resources) == 0 && len(page.Head) == 0) {
		return true, "" // the first page, or an empty one (the end of the listing)
	}
	ids := append(resourceIDsOf(resources), page.QuarantinedIDs...)
	b := boundary{tail: prev.Tail, before: prev.Before, lead: prev.Lead, through: prev.Through}
	return overlapped(b, ids, page.Head, latest(resources))
}

// pagesReadAtOnce bounds the pages of one CommitPage read together: on a
// table larger than the database's cache each read waits on the disk, and
// several at once keep it busy while the commits stay one at a time.
const pagesReadAtOnce = 4

// pageRead is what a staged page's rows are made from: the page, which of
// its resources the sync has written, and their staged tags.
type pageRead struct {
	key       store.PageKey
	resources []inventory.Resource
	written   map[string]int64
	snapshot  map[string]string
	err       error
	failed    string // what err failed to read
}

// readPages reads the pages together; each read's error is kept with it,
// to be met only if the commit gets that far.
func (a *Activities) readPages(
	ctx context.Context,
	acc *Account,
	in contract.CommitPageInput,
	refs []contract.PageRef,
) []pageRead {
	reads := make([]pageRead, len(refs))
	var g errgroup.Group
	g.SetLimit(pagesReadAtOnce)
	for i, ref := range refs {
		g.Go(func() error {
			reads[i] = a.readPage(
				ctx,
				acc,
				store.PageKey{SyncID: in.SyncID, Generation: in.Generation, Key: ref.PageKey},
			)
			return nil
		})
	}
	_ = g.Wait() // the errors are in reads
	return reads
}

func (a *Activities) readPage(ctx context.Context, acc *Account, key store.PageKey) pageRead {
	r := pageRead{key: key}
	if r.resources, r.err = a.Store.LoadPage(ctx, key); r.err != nil {
		r.failed = "read the staged page"
		return r
	}
	ids := make([]string, len(r.resources))
	for i, res := range r.resources {
		ids[i] = res.ResourceID
	}
	at := store.Attempt{SyncID: key.SyncID, Generation: key.Generation}
	if r.written, r.err = a.Store.WrittenBy(ctx, acc.DomainID, key.SyncID, ids); r.err != nil {
		r.failed = "read rows written by the sync"
	} else if r.snapshot, r.err = a.Store.SnapshotTags(ctx, at, ids); r.err != nil {
		r.failed = "read the tag snapshot"
	}
	return r
}

// pageRows are the rows a page writes, with how their tags are known; the
// tags of those read OK go into staged.
func (a *Activities) pageRows(
	ctx context.Context,
	acc *Account,
	in contract.CommitPageInput,
	anchor []string,
	seen map[string]bool,
	staged map[string]string,
	read pageRead,
	res *contract.CommitPageResult,
) ([]inventory.Row, error) {
	resources, written, snapshot := read.resources, read.written, read.snapshot
	rows := make([]inventory.Row, 0, len(resources))
	var unread []int // rows whose tags are read one by one
	for _, r := range resources {
		gen, wrote := written[r.ResourceID]
		switch {
		case (wrote && gen >= in.Generation) || slices.Contains(anchor, r.ResourceID):
			continue // this attempt has it already
		case seen[r.ResourceID]:
			continue // BSS listed it twice: one row
		}
		seen[r.ResourceID] = true
		if wrote {
			res.Kept++
			rows = append(rows, inventory.Row{
				Resource: r,
				Tags:     inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsKept},
			})
			continue
		}
		row := inventory.Row{Resource: r, Tags: inventory.TagResult{ResourceID: r.ResourceID}}
		switch {
		case r.TagType == "":
			row.Tags.Status = inventory.TagsUnsupported
		case snapshot[r.ResourceID] != "":
			row.Tags.Status = inventory.TagsOK
			staged[r.ResourceID] = snapshot[r.ResourceID]
		default:
			unread = append(unread, len(rows))
		}
		rows = append(rows, row)
	}
	if err := a.readUnread(ctx, acc, in, rows, unread, staged, res); err != nil {
		return nil, err
	}
	for _, r := range rows {
		switch r.Tags.Status {
		case inventory.TagsOK:
			res.Tagged++
		case inventory.TagsError:
			res.TagErrors++
		case inventory.TagsNotFound:
			res.Vanished++
		case inventory.TagsUnsupported:
			res.Unsupported++
		}
	}
	return rows, nil
}

// readUnread reads one by one the tags of the rows the snapshot lacks
// (their pair is not listed in bulk, or the bulk listing missed them),
// staging what it reads every second: a retry finds those in the snapshot.
// The tags read OK go into staged too, for this commit.
func (a *Activities) readUnread(
	ctx context.Context,
	acc *Account,
	in contract.CommitPageInput,
	rows []inventory.Row,
	unread []int,
	staged map[string]string,
	res *contract.CommitPageResult,
) error {
	w := acc.writer(in.SyncID, in.Generation, in.LeaseToken)
	var entries []store.SnapshotEntry
	stage := func() error {
		if err := a.Store.SaveTagSnapshot(ctx, w, entries); err != nil {
			return writeError("stage tags", err)
		}
		entries = entries[:0]
		return nil
	}
	lastStage := time.Now()
	refusals := newDenials(in.Denials)
	res.Denied = in.Denied // an older worker's account-wide refusal
	for _, i := range unread {
		r := rows[i].Resource
		target := inventory.TagTarget{
			ResourceID:          r.ResourceID,
			ProjectID:           r.ProjectID,
			ResourceTypeCode:    r.ResourceTypeCode,
			TagType:             r.TagType,
			EnterpriseProjectID: r.EnterpriseProjectID,
		}
		reason := res.Denied
		if reason == "" {
			reason = refusals.of(acc.Huawei, target)
		}
		if reason != "" {
			rows[i].Tags = refused(r.ResourceID, reason)
			continue
		}
		t, retried, err := a.tagsWithRetries(ctx, acc, target)
		res.TagCalls++
		res.Retries += retried
		if d, ok := refusals.met(err); ok {
			res.Denials = append(res.Denials, d)
			rows[i].Tags = refused(r.ResourceID, d.Reason)
			continue
		}
		if err != nil {
			if serr := stage(); serr != nil {
				return serr
			}
			return huaweiError(err)
		}
		if t.Status == inventory.TagsOK {
			entries = append(entries, store.SnapshotEntry{ResourceID: r.ResourceID, Tags: t.Tags})
			js, err := store.Tags(t.Tags).JSON()
			if err != nil {
				return err
			}
			staged[r.ResourceID] = js
		}
		t.Tags = nil
		rows[i].Tags = t
		if time.Since(lastStage) >= stageEvery {
			if err := stage(); err != nil {
				return err
			}
			lastStage = time.Now()
		}
	}
	return stage()
}
