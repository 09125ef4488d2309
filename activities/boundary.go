package activities

import (
	"fmt"
	"slices"
	"time"

	"expiry-sync/internal/huawei"
)

// BSS pages by offset in an undocumented order. Between two calls,
// resources leave and enter the window, and BSS may list records with the
// same expire time in another order on each call. A page therefore starts
// inside the page before it, and proves that no record slid past the sync
// between the two calls:
//
//   - Under any stable order, it holds one of the ids the page before
//     ended with (the anchor): a shift back large enough to hide a record
//     would have moved the last anchor id before the page.
//   - When the pages are sorted by expire time, records with the same
//     expire time (a tie) may be reordered, so ids prove nothing inside a
//     tie. The page then starts before the tie the page before ended on
//     (its expire time T), and its first `lead` records must expire before
//     T: a shift back would have moved a T record into them.
//   - A tie that fills a page cannot be proved by any overlap: ListPage
//     reads it whole with a query of its own (expire time T alone) and
//     checks that the listing holds every record of T in one block; the
//     next page starts on the block's last position, and its first record
//     must still expire at T (a shift back would have put a record from
//     past the block there, and skipped the one before it). If the tie
//     cannot be read whole, it is a doubt, which FinishSync's count
//     settles.

// boundary is where the page after a listed one starts, and what that page
// must show (see overlapped).
type boundary struct {
	advance int       // the next page starts this many records after this one's offset
	tail    []string  // ids of the records from there on (the anchor)
	before  time.Time // when this page is sorted by expire time, the expire time of its last tie
	lead    int       // the records of the next page before that tie
	through time.Time // a tie read whole: the next page's first record must expire at this
	doubt   string    // why nothing can prove the next page overlaps, if so
	// tie and tieStart: a tie of expire times fills the page from tieStart
	// on (with doubt set): ListPage may read it whole.
	tie      time.Time
	tieStart int
}

// pageBoundary places the page after one listed at offset, whose records
// are as given, overlapping it by up to overlap records; overlap 0 is the
// first version of the workflow, which does not overlap pages. The last
// page of a listing leaves no doubt: nothing follows it.
func pageBoundary(offset int, records []huawei.Record, overlap int, last bool) boundary {
	b := nextPage(offset, records, overlap)
	if last {
		b.doubt = ""
	}
	return b
}

func nextPage(offset int, records []huawei.Record, overlap int) boundary {
	n := len(records)
	switch {
	case n == 0 || overlap == 0:
		return boundary{advance: n}
	case n == 1:
		return boundary{
			advance: 1,
			doubt:   fmt.Sprintf("BSS answered a single record at offset %d: no page after it can overlap it", offset),
		}
	}
	b := boundary{advance: n - min(overlap, n-1)}
	if tie, start, sorted := lastTie(records); sorted {
		if start < 2 {
			// No overlap can help: the next page starts after this one.
			return boundary{
				advance:  n,
				tie:      tie,
				tieStart: start,
				doubt: fmt.Sprintf(
					"the records at offsets %d to %d all expire at %s: "+
						"BSS may list them in another order on each call, "+
						"and no overlap can prove the listing saw each once",
					offset+start,
					offset+n-1,
					tie.Format(time.RFC3339),
				),
			}
		}
		b.advance = min(b.advance, start-1)
		b.before, b.lead = tie, start-b.advance
	}
	for _, r := range records[b.advance:] {
		if r.ID != "" {
			b.tail = append(b.tail, r.ID)
		}
	}
	if len(b.tail) == 0 && b.before.IsZero() {
		b.doubt = fmt.Sprintf(
			"no record at offsets %d to %d has a resource_id: no page after it can be checked against them",
			offset+b.advance,
			offset+n-1,
		)
	}
	return b
}

// lastTie says whether the readable records are sorted by expire time
// (two at least), and if so the expire time of the last one and where
// the run of records that share it (or cannot be read) begins.
func lastTie(records []huawei.Record) (tie time.Time, start int, sorted bool) {
	var prev time.Time
	readable := 0
	for _, r := range records {
		if r.Expire.IsZero() {
			continue
		}
		if r.Expire.Before(prev) {
			return time.Time{}, 0, false
		}
		prev = r.Expire
		readable++
	}
	if readable < 2 {
		return time.Time{}, 0, false
	}
	start = len(records)
	for start > 0 && (records[start-1].Expire.IsZero() || records[start-1].Expire.Equal(prev)) {
		start--
	}
	return prev, start, true
}

// head is the expire times of a page's first records (zero: unreadable),
// as many as the key check of overlapped may look at.
func head(records []huawei.Record, overlap int) []time.Time {
	out := make([]time.Time, min(overlap, len(records)))
	for i := range out {
		out[i] = records[i].Expire
	}
	return out
}

// overlapped says whether a page listed where the page before's boundary
// said proves that nothing slid past the sync: it holds one of the anchor's
// ids (or there is none); when the page before was sorted, its first lead
// records expire before that page's last tie; when that tie was read
// whole, its first record expires at it. When the tie fills the rest of
// the page, ids cannot prove anything (BSS may reorder a tie): the expire
// times alone decide, and the doubt says so.
func overlapped(prev boundary, ids []string, first []time.Time, latest time.Time) (ok bool, doubt string) {
	if !prev.before.IsZero() {
		for i, t := range first {
			if !t.IsZero() && !t.Before(prev.before) && i < prev.lead {
				return false, "" // a record of the last tie moved into the lead: the listing shifted back
			}
		}
	}
	if !prev.through.IsZero() {
		if i := slices.IndexFunc(first, func(t time.Time) bool { return !t.IsZero() }); i >= 0 &&
			!first[i].Equal(prev.through) {
			return false, "" // a record from past the tie moved onto its last position: the listing shifted back
		}
	}
	if len(prev.tail) == 0 || slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(prev.tail, id) }) {
		return true, ""
	}
	if !prev.before.IsZero() && latest.Equal(prev.before) {
		return true, fmt.Sprintf(
			"the records expiring at %s fill a page: "+
				"BSS may list them in another order on each call, and no overlap can prove the listing saw each once",
			prev.before.Format(time.RFC3339),
		)
	}
	return false, ""
}
