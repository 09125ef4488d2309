package hwsim

import (
	"net/http"
	"slices"
	"sync/atomic"
	"time"
)

// The BSS knobs that bend an answer rather than fail it: record quirks,
// short and empty pages, lookups by resource_ids. Each plays a behaviour
// Huawei does not document but a client must survive (see the knobs' docs).

// render is the wire form of r with the record quirks the knobs ask for;
// lookup says whether the query carries resource_ids.
func (c *runtimeConfig) render(r Resource, lookup bool) orderInstance {
	o := toOrderInstance(r)
	if c.long.has(r.ResourceID) {
		stretchFields(&o)
	}
	c.odd.rename(&o)
	switch {
	case c.noID.has(r.ResourceID) || lookup && c.lookupNoID.has(r.ResourceID):
		o.ResourceID = nil
	case c.malformed.has(r.ResourceID) || lookup && c.lookupMalformed.has(r.ResourceID):
		o.ExpireTime = r.ExpireTime.Format(time.DateTime) // not the documented UTC format
	}
	if c.partial.has(r.ResourceID) {
		o.Status, o.ExpirePolicy = nil, nil
	}
	if c.noProject.has(r.ResourceID) {
		o.ProjectID = nil
	}
	return o
}

// Lengths LongFieldResourceIDs stretches fields to, in characters: past the
// product's VARCHAR(64), (128) and (512) columns.
const (
	longNameLen = 600
	longCodeLen = 80
	longSpecLen = 200
)

// stretchFields plays LongFieldResourceIDs. The name takes Chinese
// characters, so that its bytes outnumber its characters.
func stretchFields(o *orderInstance) {
	o.ResourceName = stretch(o.ResourceName+"-超长资源名称", longNameLen)
	o.RegionCode = stretch(o.RegionCode+"-", longCodeLen)
	o.ServiceTypeCode = stretch(o.ServiceTypeCode+".", longCodeLen)
	o.ResourceTypeCode = stretch(o.ResourceTypeCode+".", longCodeLen)
	o.ResourceSpecCode = stretch(o.ResourceSpecCode+".", longSpecLen)
	project := stretch(*o.ProjectID, longCodeLen)
	o.ProjectID = &project
	ep := *o.EnterpriseProject
	ep.ID = stretch(ep.ID+"-", longCodeLen)
	o.EnterpriseProject = &ep
}

// stretch repeats s until it is exactly n characters (runes) long.
func stretch(s string, n int) string {
	rs := []rune(s)
	out := make([]rune, n)
	for i := range out {
		out[i] = rs[i%len(rs)]
	}
	return string(out)
}

// oddIDs maps the real ids of OddIDResourceIDs to the ids BSS shows, and
// back.
type oddIDs struct{ shown, real map[string]string }

func newOddIDs(ids []string) oddIDs {
	o := oddIDs{shown: make(map[string]string, len(ids)), real: make(map[string]string, len(ids))}
	for turn, id := range ids {
		odd := oddID(id, turn)
		o.shown[id], o.real[odd] = odd, id
	}
	return o
}

// oddLongIDLen is the length of the fourth kind of odd id: past a
// VARCHAR(128) column.
const oddLongIDLen = 140

// oddID is the id BSS shows for the turn-th entry of OddIDResourceIDs: one
// with a "/", a "?" or a "#" (each breaks a TMS URL path), or one of 140
// characters. Each embeds the real id, so that it is unique and stays the
// same while the knob does.
func oddID(id string, turn int) string {
	switch turn % 4 {
	case 0:
		return id + "/volume-0"
	case 1:
		return id + "?version=2"
	case 2:
		return id + "#main"
	}
	return stretch(id+"-", oddLongIDLen)
}

// rename shows o, and the parent it names, under their odd ids.
func (m oddIDs) rename(o *orderInstance) {
	if odd, ok := m.shown[*o.ResourceID]; ok {
		o.ResourceID = &odd
	}
	if odd, ok := m.shown[o.ParentResourceID]; ok {
		o.ParentResourceID = odd
	}
}

// internal maps the ids a query asks for to the simulator's: an odd id to
// the real one behind it, and the real id of a record BSS shows under an
// odd one to "" (BSS knows the record by its odd id only).
func (m oddIDs) internal(asked []string) []string {
	out := make([]string, len(asked))
	for j, id := range asked {
		if real, ok := m.real[id]; ok {
			out[j] = real
		} else if _, hidden := m.shown[id]; !hidden {
			out[j] = id
		}
	}
	return out
}

// recordCap is how many records an answer holds at most: limit, cut to
// MaxRecords and, for a query by resource_ids, to LookupMaxRecords.
func (k *Knobs) recordCap(lookup bool, limit int) int {
	if k.MaxRecords > 0 {
		limit = min(limit, k.MaxRecords)
	}
	if lookup && k.LookupMaxRecords > 0 {
		limit = min(limit, k.LookupMaxRecords)
	}
	return limit
}

// lookupRefusal is the LookupRefused knob's answer to a query that carries
// resource_ids, in BSS's flat error body.
func lookupRefusal(k *Knobs, ids []string) *apiError {
	switch {
	case len(ids) == 0 || k.LookupRefused == "":
		return nil
	case k.LookupRefused == codeBSSDenied:
		return svcError(http.StatusForbidden, codeBSSDenied, "Access denied.")
	}
	return bssParam("resource_ids cannot be used in this query")
}

// emptyPageState counts, per EmptyPageOffsets offset, the listings asked
// at it. The map's keys are fixed when it is made, so reading it needs no
// lock.
type emptyPageState struct {
	times int
	asked map[int]*atomic.Int64
}

// emptyPagesFor keeps the counts of unchanged EmptyPageOffsets and
// EmptyPageTimes, so that changing another knob does not restart them.
func emptyPagesFor(k Knobs, prev *runtimeConfig) *emptyPageState {
	if len(k.EmptyPageOffsets) == 0 {
		return nil
	}
	if prev != nil && prev.emptyPages != nil && prev.knobs.EmptyPageTimes == k.EmptyPageTimes &&
		slices.Equal(prev.knobs.EmptyPageOffsets, k.EmptyPageOffsets) {
		return prev.emptyPages
	}
	e := &emptyPageState{times: k.EmptyPageTimes, asked: make(map[int]*atomic.Int64, len(k.EmptyPageOffsets))}
	for _, offset := range k.EmptyPageOffsets {
		e.asked[offset] = new(atomic.Int64)
	}
	return e
}

// empty counts a listing asked at offset and reports whether it answers
// no records.
func (e *emptyPageState) empty(offset int) bool {
	if e == nil {
		return false
	}
	c, ok := e.asked[offset]
	if !ok {
		return false
	}
	n := c.Add(1)
	return e.times == 0 || n <= int64(e.times)
}
