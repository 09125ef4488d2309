package hwsim

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Resource statuses (OrderInstanceV2.status).
const (
	StatusInUse   = 2
	StatusClosed  = 3 // released; still listed when status 3 is asked for
	StatusFrozen  = 4
	StatusExpired = 5
)

// Renew moves the expire time of each listed record by `by` (a negative
// duration moves it earlier) and, when by > 0, puts a frozen (4) or expired
// (5) record back in use (2), as a paid renewal does. Unknown or removed ids
// are skipped; it returns how many records it changed.
func (s *Simulator) Renew(ids []string, by time.Duration) int {
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, id := range ids {
		if i, ok := d.lookupIndex(id); ok {
			d.renew(i, by)
			n++
		}
	}
	return n
}

// renew is Renew for one index. Caller holds mu.
func (d *dataset) renew(i int, by time.Duration) {
	sl := &d.slots[i]
	sl.expire = clampExpire(int64(sl.expire) + int64(by/time.Second))
	if by > 0 && (sl.status == StatusFrozen || sl.status == StatusExpired) {
		sl.status = StatusInUse
	}
}

func clampExpire(v int64) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, v)))
}

// SetStatus sets the status (2..5) of each listed record and returns how many
// it changed; 0 for a status outside 2..5.
func (s *Simulator) SetStatus(ids []string, status int) int {
	if status < StatusInUse || status > StatusExpired {
		return 0
	}
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, id := range ids {
		if i, ok := d.lookupIndex(id); ok {
			d.slots[i].status = uint8(status)
			n++
		}
	}
	return n
}

// AddResourcesExpiring appends n new records (fewer if the dataset would
// exceed MaxResources) whose expire times lie in [from, to], second
// precision, and returns their ids. A main record and its children share an
// expire time. It returns nil when to is before from or either bound is more
// than 68 years away from Epoch.
func (s *Simulator) AddResourcesExpiring(n int, from, to time.Time) []string {
	d := s.data
	lo, hi, ok := d.window(from, to)
	if !ok {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addExpiringLocked(n, lo, hi)
}

// addExpiringLocked appends up to n records with expire offsets drawn in
// [lo, hi]. Caller holds mu.
func (d *dataset) addExpiringLocked(n int, lo, hi int64) []string {
	first := len(d.slots)
	ids := d.addLocked(n)
	for i := first; i < len(d.slots); i++ {
		if d.slots[i].parent != 0 {
			d.slots[i].expire = d.slots[d.mainIndex(i)].expire
			d.slots[i].status = d.slots[d.mainIndex(i)].status
			continue
		}
		r := newRNG(d.seed, i, saltExpire)
		d.slots[i].expire = int32(lo + int64(r.next()%uint64(hi-lo+1)))
		d.slots[i].status = pickStatus(&r, d.slots[i].expire)
	}
	return ids
}

// MaxChildren is the most attached records AddResourcesWithChildren gives
// a main record.
const MaxChildren = 200

// AddResourcesWithChildren appends n servers (BSS hws.resource.type.vm, main
// records) with children attached volumes each (children 0..MaxChildren),
// in use, and returns the servers' ids only. A server and its volumes share
// an expire time, drawn in [from, to] with second precision as in
// AddResourcesExpiring. The volumes carry is_main_resource 0 and their
// server's id in ParentResourceID (Lookup, All), which is how to find them;
// a BSS query with a server's id in resource_ids and only_main_resource=0
// lists them too, total_count counting them. (SDK
// services/bss/v2/model/model_order_instance_v2.go: is_main_resource,
// parent_resource_id; model_query_resources_req.go: only_main_resource "0：
// 查询主资源及附属资源", resource_ids "当only_main_resource=0时，查询指定资源及其附属资源".)
// It adds fewer groups if the dataset would exceed MaxResources, and
// returns nil for children out of range or a window AddResourcesExpiring
// refuses.
func (s *Simulator) AddResourcesWithChildren(n, children int, from, to time.Time) []string {
	d := s.data
	lo, hi, ok := d.window(from, to)
	if !ok || children < 0 || children > MaxChildren {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n = min(n, (MaxResources-d.live)/(1+children))
	var mains []string
	for range n {
		i := len(d.slots)
		r := newRNG(d.seed, i, saltExpire)
		d.appendGroup(slot{kind: kindVM, project: uint8(r.intn(len(d.projects))), status: StatusInUse,
			expire: int32(lo + int64(r.next()%uint64(hi-lo+1)))}, children)
		mains = append(mains, resourceID(d.seed, d.codec, i))
	}
	return mains
}

// window is [from, to] as whole-second offsets from Epoch; ok is false when
// to is before from or a bound is more than 68 years away from Epoch.
func (d *dataset) window(from, to time.Time) (lo, hi int64, ok bool) {
	lo, hi = d.offset(from.Add(time.Second-1)), d.offset(to) // whole seconds inside [from, to]
	return lo, hi, lo <= hi && lo >= math.MinInt32 && hi <= math.MaxInt32
}

// offset is t as seconds from Epoch, rounded down.
func (d *dataset) offset(t time.Time) int64 {
	return int64(math.Floor(t.Sub(d.epoch).Seconds()))
}

// Truth returns the live records (with their tags) whose expire time lies in
// [begin, end] and whose status is one of statuses (empty: any), in index
// order: what a BSS listing with those filters and only_main_resource=0
// serves, and so what a correct sync stores. Both bounds are truncated to
// whole seconds, as the BSS time format truncates a sync's window. Record
// quirks set by knobs (malformed or missing fields) do not change it.
func (s *Simulator) Truth(begin, end time.Time, statuses []int) []Resource {
	d := s.data
	lo, hi := d.offset(begin), d.offset(end)
	var out []Resource
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i, sl := range d.slots {
		if d.isRemoved(i) || int64(sl.expire) < lo || int64(sl.expire) > hi {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, int(sl.status)) {
			continue
		}
		out = append(out, d.resource(i))
	}
	return out
}

// SetTags replaces the tags of each listed record (none: untagged), as an
// owner editing them in the console does; TMS answers with them from then
// on. Unknown or removed ids are skipped; it returns how many it changed.
func (s *Simulator) SetTags(ids []string, tags map[string]string) int {
	d := s.data
	d.mu.Lock()
	defer d.mu.Unlock()
	refs := make([]tagRef, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		refs = append(refs, d.pools.ref(k, tags[k]))
	}
	if d.retagged == nil {
		d.retagged = map[int][]tagRef{}
	}
	n := 0
	for _, id := range ids {
		if i, ok := d.lookupIndex(id); ok {
			d.retagged[i] = refs
			n++
		}
	}
	return n
}
