package activities

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// cloud is a model of BSS's listing for the overlap checks: records with
// an expire time (many of them tied), listed by offset in one of the orders
// BSS may use (none is documented), and changing between calls.
type cloud struct {
	rng     *rand.Rand
	order   string // "index": a stable order that ignores expire times; "sorted": by expire time, then id; "shuffled": by expire time, ties in a new order on each call
	records []modelRecord
	next    int
	churn   float64 // chance, before each call, that a record leaves or one enters
	removed map[string]bool
	// tieReading: a tie is being read on its own; records may leave
	// meanwhile, none enters (see listTie).
	tieReading bool
	// releases: ids released before the call of that number (from 1).
	releases map[int][]string
	calls    int
}

type modelRecord struct {
	id     string
	expire int
}

func newCloud(seed uint64, order string, n, distinct int, churn float64) *cloud {
	c := &cloud{rng: rand.New(rand.NewPCG(seed, 7)), order: order, churn: churn, removed: map[string]bool{}}
	for range n {
		c.add(distinct)
	}
	return c
}

func (c *cloud) add(distinct int) {
	c.records = append(c.records, modelRecord{id: fmt.Sprintf("r%05d", c.next), expire: c.rng.IntN(distinct)})
	c.next++
}

// query answers a BSS query as the huawei client does: the page at the
// query's offset, of the records expiring at ExpireBegin when it is set
// (a tie read on its own).
func (c *cloud) query(q huawei.ListQuery, distinct int) huawei.Page {
	view := c.call(distinct)
	if !q.ExpireBegin.IsZero() {
		view = slices.DeleteFunc(view, func(r modelRecord) bool { return !epoch.Add(time.Duration(r.expire) * time.Hour).Equal(q.ExpireBegin) })
	}
	p := huawei.Page{TotalCount: len(view)}
	for _, r := range view[min(q.Offset, len(view)):min(q.Offset+q.Limit, len(view))] {
		at := epoch.Add(time.Duration(r.expire) * time.Hour)
		p.Records = append(p.Records, huawei.Record{ID: r.id, Expire: at})
		p.Resources = append(p.Resources, inventory.Resource{ResourceID: r.id, ExpireTime: at})
	}
	p.Received = len(p.Records)
	return p
}

// call is the listing as one call sees it: after the account changed, in
// the order of this call.
func (c *cloud) call(distinct int) []modelRecord {
	c.calls++
	for _, id := range c.releases[c.calls] {
		c.removed[id] = true
		c.records = slices.DeleteFunc(c.records, func(r modelRecord) bool { return r.id == id })
	}
	for range c.changes() {
		if (c.tieReading || c.rng.IntN(2) == 0) && len(c.records) > 1 {
			i := c.rng.IntN(len(c.records))
			c.removed[c.records[i].id] = true
			c.records = slices.Delete(c.records, i, i+1)
		} else {
			c.records = slices.Insert(c.records, c.rng.IntN(len(c.records)+1), modelRecord{id: fmt.Sprintf("r%05d", c.next), expire: c.rng.IntN(distinct)})
			c.next++
		}
	}
	view := slices.Clone(c.records)
	switch c.order {
	case "sorted":
		slices.SortStableFunc(view, func(a, b modelRecord) int { return cmp.Or(cmp.Compare(a.expire, b.expire), cmp.Compare(a.id, b.id)) })
	case "shuffled":
		c.rng.Shuffle(len(view), func(i, j int) { view[i], view[j] = view[j], view[i] })
		slices.SortStableFunc(view, func(a, b modelRecord) int { return cmp.Compare(a.expire, b.expire) })
	}
	return view
}

// changes is how many records leave or enter before a call: none, or a
// few at once (a shift of several records between two pages).
func (c *cloud) changes() int {
	if c.rng.Float64() >= c.churn {
		return 0
	}
	return 1 + c.rng.IntN(4)
}

var epoch = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// listAll pages through the cloud as the workflow does: each page must
// follow the last one taken, or the listing goes back further; it returns
// the ids taken and the doubts met.
func listAll(t *testing.T, c *cloud, limit, overlap, distinct int) (map[string]bool, []string) {
	seen := map[string]bool{}
	var doubts []string
	offset, back := 0, overlap
	var prev boundary
	list := func(q huawei.ListQuery) (huawei.Page, error) { return c.query(q, distinct), nil }
	for calls := 0; ; calls++ {
		require.Less(t, calls, 20000, "the listing never ends")
		p, _ := list(huawei.ListQuery{Offset: offset, Limit: limit})
		page, total := p.Records, p.TotalCount
		if offset > 0 {
			var ids []string
			latest := time.Time{}
			for _, r := range page {
				ids = append(ids, r.ID)
				if r.Expire.After(latest) {
					latest = r.Expire
				}
			}
			ok, doubt := overlapped(prev, ids, head(page, overlap), latest)
			if !ok {
				offset, back = max(0, offset-back), 2*back
				continue
			}
			if doubt != "" {
				doubts = append(doubts, doubt)
			}
		}
		for _, r := range page {
			seen[r.ID] = true
		}
		received := len(page)
		b := pageBoundary(offset, page, overlap, offset+received >= total)
		if !b.tie.IsZero() {
			in := contract.ListPageInput{Limit: limit}
			c.tieReading = true
			tie, whole, _, err := listTie(list, in, b.tie, page[b.tieStart:])
			require.NoError(t, err)
			if whole {
				whole, err = tieInPlace(list, in, offset+b.tieStart, tie.Received, b.tie)
				require.NoError(t, err)
			}
			c.tieReading = false
			if whole {
				for _, r := range tie.Records {
					seen[r.ID] = true
				}
				received = b.tieStart + tie.Received
				b = boundary{advance: received - 1, through: b.tie}
			}
		}
		if b.doubt != "" {
			doubts = append(doubts, b.doubt)
		}
		if received == 0 || offset+received >= total {
			return seen, doubts
		}
		offset, back, prev = offset+b.advance, overlap, b
	}
}

// Invariant: a record that stays listed for the whole listing is taken,
// whatever order BSS lists in (a stable one, or by expire time with ties
// in a new order on each call), however the account changes between calls;
// or the listing says where it could not prove it (a tie of expire times
// as long as a page, which BSS may reorder, or a stable order cannot be
// told from).
func TestOverlapProvesNothingSlidPast(t *testing.T) {
	for _, order := range []string{"index", "sorted", "shuffled"} {
		for _, distinct := range []int{3, 25, 40, 100000} { // few expire times (long ties), ties of about 4, some, all different
			t.Run(fmt.Sprintf("%s/%d-expire-times", order, distinct), func(t *testing.T) {
				doubted := 0
				var lastDoubts []string
				for seed := range uint64(150) {
					c := newCloud(seed, order, 60+int(seed%90), distinct, []float64{0, 0.3, 0.8}[seed%3])
					limit := 5 + int(seed%20)
					if distinct == 25 {
						limit = 20 + int(seed%10) // ties shorter than a page
					}
					before := map[string]bool{}
					for _, r := range c.records {
						before[r.id] = true
					}
					seen, doubts := listAll(t, c, limit, min(10, max(1, limit/4)), distinct)
					if len(doubts) > 0 && c.churn == 0 && order == "sorted" {
						t.Errorf("seed %d: a sorted listing that does not change leaves no doubt (its long ties are read whole), yet: %v", seed, doubts)
					}
					if len(doubts) > 0 {
						lastDoubts = doubts
						doubted++
						continue
					}
					for id := range before {
						if !c.removed[id] {
							require.True(t, seen[id], "seed %d: %s stayed listed but the listing skipped it", seed, id)
						}
					}
				}
				if distinct == 100000 {
					assert.Zero(t, doubted, "without long ties of expire times, overlaps prove every page")
				}
				t.Logf("%d of 150 listings had a doubt (the last: %v)", doubted, lastDoubts)
			})
		}
	}
}

// A page whose last records carry no id leaves nothing to anchor the next
// page to: a doubt, not a silent pass. A sorted page anchors on its last
// tie instead.
func TestAPageWithoutIDsIsADoubt(t *testing.T) {
	at := func(h int) time.Time { return epoch.Add(time.Duration(h) * time.Hour) }
	unsorted := []huawei.Record{{ID: "a", Expire: at(5)}, {ID: "b", Expire: at(1)}, {Expire: at(9)}, {Expire: at(2)}}
	b := pageBoundary(20, unsorted, 2, false)
	assert.Equal(t, 2, b.advance)
	assert.Empty(t, b.tail)
	assert.Contains(t, b.doubt, "no record at offsets 22 to 23 has a resource_id")

	sorted := []huawei.Record{{ID: "a", Expire: at(1)}, {ID: "b", Expire: at(2)}, {Expire: at(3)}, {Expire: at(3)}, {ID: "e", Expire: at(3)}}
	b = pageBoundary(0, sorted, 2, false)
	assert.Equal(t, 1, b.advance, "the next page starts before the last tie")
	assert.Equal(t, at(3), b.before)
	assert.Equal(t, 1, b.lead)
	assert.Equal(t, []string{"b", "e"}, b.tail)
	assert.Empty(t, b.doubt)

	tie := []huawei.Record{{ID: "a", Expire: at(1)}, {ID: "b", Expire: at(3)}, {ID: "c", Expire: at(3)}}
	b = pageBoundary(40, tie, 2, false)
	assert.Contains(t, b.doubt, "offsets 41 to 42 all expire at")
	assert.Empty(t, b.tail, "the next page cannot be checked by ids a reordering moves")
	assert.Equal(t, 3, b.advance, "nor does it overlap this one: it would only list records twice")
}

// A tie is read whole only when every call counts it alike: a record
// released while the tie is read is counted in what came back and not in
// BSS's total, and would hide a record the reads missed.
func TestATieReadWhileItChangesIsNotWhole(t *testing.T) {
	at := epoch.Add(time.Hour)
	answers := []struct {
		total int
		ids   []string
	}{
		{5, []string{"a", "b", "d"}}, // d is released after this call
		{4, []string{"c"}},           // the rest of {a, b, c, e}, in another order: e is missed
	}
	calls := 0
	list := func(q huawei.ListQuery) (huawei.Page, error) {
		a := answers[min(calls, len(answers)-1)]
		calls++
		p := huawei.Page{TotalCount: a.total, Received: len(a.ids)}
		for _, id := range a.ids {
			p.Records = append(p.Records, huawei.Record{ID: id, Expire: at})
			p.Resources = append(p.Resources, inventory.Resource{ResourceID: id, ExpireTime: at})
		}
		return p, nil
	}
	_, whole, moved, err := listTie(list, contract.ListPageInput{Limit: 3}, at, []huawei.Record{{ID: "a", Expire: at}})
	require.NoError(t, err)
	assert.False(t, whole, "four distinct records against a total of four, but e was never seen")
	assert.True(t, moved, "the tie changed while it was read: worth listing the page again")
}

// A page that only looks sorted (all its records expire together, in a
// listing that is not sorted) is not taken for a tie in one block: the
// listing does not jump over the records between that tie's members.
func TestATieThatIsNotInOneBlockIsNotJumped(t *testing.T) {
	c := &cloud{rng: rand.New(rand.NewPCG(1, 1)), order: "index", removed: map[string]bool{}}
	for i, e := range []int{1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, 2, 0} {
		c.records = append(c.records, modelRecord{id: fmt.Sprintf("r%02d", i), expire: e})
	}
	seen, doubts := listAll(t, c, 4, 1, 3)
	for _, r := range c.records {
		assert.True(t, seen[r.id], "%s was skipped (doubts: %v)", r.id, doubts)
	}
}

// After a tie read whole, the next page starts on the tie's last
// position: if records before it were released meanwhile, a later record
// sits there, and the page is not taken (the listing goes back).
func TestAShiftAfterATieReadWholeIsSeen(t *testing.T) {
	c := &cloud{rng: rand.New(rand.NewPCG(1, 1)), order: "sorted", removed: map[string]bool{},
		releases: map[int][]string{4: {"a", "b"}}} // calls: the page, the tie, the tie in place, the next page
	c.records = append(c.records, []modelRecord{{"a", 0}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 2}, {"g", 2}, {"h", 3}}...)
	seen, doubts := listAll(t, c, 4, 1, 4)
	assert.Empty(t, doubts)
	for _, id := range []string{"c", "d", "e", "f", "g", "h"} {
		assert.True(t, seen[id], "%s was skipped", id)
	}
}
