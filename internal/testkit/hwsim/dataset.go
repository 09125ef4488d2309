package hwsim

import (
	"iter"
	"math/bits"
	"sync"
	"time"

	"expiry-sync/internal/catalog"
	"expiry-sync/workflows"
)

// kind is the simulator's resource flavour; it fixes the BSS service and
// resource type codes and whether the record is a main resource.
type kind uint8

const (
	kindVM       kind = iota
	kindVMVolume      // EVS disk billed as a child of its VM (service ec2)
	kindVolume        // standalone EVS disk (service ebs)
	kindEIP
	kindBandwidth // bandwidth billed as a child of its EIP
	kindRDS
	kindDCS
	numKinds
)

type kindInfo struct {
	service, serviceName   string
	resType, resTypeName   string
	main                   bool
	namePrefix, namePrefCN string
}

var kinds = func() [numKinds]kindInfo {
	k := [numKinds]kindInfo{
		kindVM:        {service: catalog.ServiceECS, serviceName: "弹性云服务器", resType: catalog.ResourceVM, resTypeName: "云主机", main: true, namePrefix: "ecs", namePrefCN: "服务器"},
		kindVMVolume:  {service: catalog.ServiceECS, serviceName: "弹性云服务器", resType: catalog.ResourceVolume, resTypeName: "云硬盘"},
		kindVolume:    {service: catalog.ServiceEVS, serviceName: "云硬盘", resType: catalog.ResourceVolume, resTypeName: "云硬盘", main: true, namePrefix: "evs", namePrefCN: "数据盘"},
		kindEIP:       {service: catalog.ServiceVPC, serviceName: "虚拟私有云", resType: catalog.ResourceIP, resTypeName: "弹性公网IP", main: true},
		kindBandwidth: {service: catalog.ServiceVPC, serviceName: "虚拟私有云", resType: catalog.ResourceBandwidth, resTypeName: "带宽"},
		kindRDS:       {service: catalog.ServiceRDS, serviceName: "云数据库 RDS", resType: catalog.ResourceRDS, resTypeName: "云数据库实例", main: true, namePrefix: "rds", namePrefCN: "订单数据库"},
		kindDCS:       {service: catalog.ServiceDCS, serviceName: "分布式缓存服务", resType: catalog.ResourceDCS, resTypeName: "分布式缓存实例", main: true, namePrefix: "dcs", namePrefCN: "会话缓存"},
	}
	return k
}()

// tmsTypesFor is each kind's TMS resource type ("" for none): by default the
// frozen mapping today's workflow reads tags with (ecs, disk, eip), which the
// end-to-end tests expect; with fullCatalog every type catalog.Default maps,
// as real TMS serves them (rds and dcs too).
func tmsTypesFor(fullCatalog bool) [numKinds]string {
	var out [numKinds]string
	for k, info := range kinds {
		if fullCatalog {
			out[k], _ = catalog.Default().Lookup(info.resType, info.main)
		} else {
			out[k], _ = workflows.LegacyTMSType(info.resType)
		}
	}
	return out
}

// childKind is the kind of the records billed under a main record of kind k.
func childKind(k kind) kind {
	if k == kindEIP {
		return kindBandwidth
	}
	return kindVMVolume
}

// slot is everything the simulator stores per record: what list filters
// need, so that a scan never has to regenerate a record. The rest of a
// record is rebuilt from (seed, index) on demand.
type slot struct {
	expire  int32 // seconds from Epoch
	kind    kind
	parent  uint8 // distance back to the main record; 0 for a main record
	project uint8
	status  uint8
}

// Expire times spread from 30 days before Epoch to 365 days after.
const (
	expireMin = -30 * 24 * 3600
	expireMax = 365 * 24 * 3600
)

// Project is one IAM project of the simulated account.
type Project struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region"`
}

// regionsInUse are bound to projects in this order, so that three projects
// already span three regions.
var regionsInUse = []string{"cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-1"}

func genProjects(seed int64) []Project {
	r := newRNG(seed, 0, saltProjects)
	n := r.between(3, 6)
	suffixes := []string{"dev", "prod", "test"}
	out := make([]Project, n)
	for i := range out {
		region := regionsInUse[i%len(regionsInUse)]
		name := region
		if i >= len(regionsInUse) {
			name = region + "_" + suffixes[i%len(suffixes)]
		}
		out[i] = Project{ID: r.hexID(32), Name: name, Region: region}
	}
	return out
}

type enterpriseProject struct{ id, name string }

func genEnterpriseProjects(seed int64) []enterpriseProject {
	r := newRNG(seed, 0, saltMisc)
	return []enterpriseProject{
		{"0", "default"},
		{r.uuid(), "生产环境"},
		{r.uuid(), "team-data"},
		{r.uuid(), "财务部"},
	}
}

// dataset is the mutable collection of records. Records are identified by
// their index; removed records keep their index (the bitmap marks them) so
// that ids and listing order stay stable.
type dataset struct {
	seed     int64
	epoch    time.Time
	codec    idCodec
	projects []Project
	eps      []enterpriseProject
	pools    *tagPools
	tmsTypes [numKinds]string // per kind, see tmsTypesFor

	mu       sync.RWMutex
	slots    []slot
	removed  []uint64 // bitmap over slots
	live     int
	removals uint64 // RemoveRandom calls so far, to vary its stream
	churns   uint64 // churns applied so far, to vary their stream
	// retagged: records whose tags SetTags replaced, by index.
	retagged map[int][]tagRef
	// policies: records whose expire_policy a renewal API set (auto-renew,
	// to-on-demand), by index.
	policies map[int]int32
}

func newDataset(seed int64, epoch time.Time, n int, fullCatalog bool) *dataset {
	d := &dataset{
		tmsTypes: tmsTypesFor(fullCatalog),
		seed:     seed,
		epoch:    epoch,
		codec:    newIDCodec(seed),
		projects: genProjects(seed),
		eps:      genEnterpriseProjects(seed),
		pools:    newTagPools(seed),
		slots:    make([]slot, 0, n),
	}
	d.grow(n)
	return d
}

// grow appends exactly n records. Groups (a main record and its children)
// are drawn from the main record's index; a group that would overflow n is
// cut short, which is why the per-index layout has to be stored.
func (d *dataset) grow(n int) {
	target := len(d.slots) + n
	for len(d.slots) < target {
		i := len(d.slots)
		r := newRNG(d.seed, i, saltGroup)
		k, children := pickGroup(&r)
		s := slot{kind: k, project: uint8(r.intn(len(d.projects))), expire: int32(r.between(expireMin, expireMax))}
		s.status = pickStatus(&r, s.expire)
		d.appendGroup(s, min(children, target-i-1))
	}
}

// appendGroup appends main record s and its children, which share its
// project, expire time and status. children is at most MaxChildren: a
// child's slot stores its distance to the main record in a uint8.
func (d *dataset) appendGroup(s slot, children int) {
	d.slots = append(d.slots, s)
	for c := 1; c <= children; c++ {
		cs := s
		cs.kind, cs.parent = childKind(s.kind), uint8(c)
		d.slots = append(d.slots, cs)
	}
	for len(d.removed)*64 < len(d.slots) {
		d.removed = append(d.removed, 0)
	}
	d.live += 1 + children
}

// pickGroup draws the main kind and how many children it carries.
func pickGroup(r *rng) (kind, int) {
	switch p := r.intn(100); {
	case p < 40:
		return kindVM, r.intn(3) // 0-2 attached volumes
	case p < 60:
		return kindVolume, 0
	case p < 80:
		return kindEIP, 1 // its bandwidth
	case p < 90:
		return kindRDS, 0
	default:
		return kindDCS, 0
	}
}

// pickStatus: expired records (5) only exist past their expire time;
// frozen (4) mostly follows expiry too; a few are closed (3).
func pickStatus(r *rng, expire int32) uint8 {
	p := r.intn(100)
	if expire < 0 {
		switch {
		case p < 55:
			return 5
		case p < 80:
			return 4
		case p < 95:
			return 2
		}
		return 3
	}
	switch {
	case p < 90:
		return 2
	case p < 96:
		return 4
	}
	return 3
}

func (d *dataset) isRemoved(i int) bool { return d.removed[i/64]&(1<<(i%64)) != 0 }

func (d *dataset) markRemoved(i int) {
	d.removed[i/64] |= 1 << (i % 64)
	d.live--
}

// mainIndex is the index of the main record of record i (i itself for a main
// record).
func (d *dataset) mainIndex(i int) int { return i - int(d.slots[i].parent) }

// lookupIndex returns the live index of a resource id. Caller holds mu.
func (d *dataset) lookupIndex(id string) (int, bool) {
	i, ok := indexFromID(d.codec, id)
	if !ok || i >= len(d.slots) || d.isRemoved(i) || resourceID(d.seed, d.codec, i) != id {
		return 0, false
	}
	return i, true
}

func (d *dataset) lookup(id string) (Resource, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.lookupIndex(id)
	if !ok {
		return Resource{}, false
	}
	return d.resource(i), true
}

// all yields the live records in listing order. It holds the read lock per
// chunk only, so a slow consumer (an HTTP stream) does not block mutations
// for long; records added meanwhile are included, removed ones may not be.
func (d *dataset) all() iter.Seq[Resource] {
	return func(yield func(Resource) bool) {
		const chunk = 512
		buf := make([]Resource, 0, chunk)
		for start := 0; ; start += chunk {
			buf = buf[:0]
			d.mu.RLock()
			end := min(start+chunk, len(d.slots))
			for i := start; i < end; i++ {
				if !d.isRemoved(i) {
					buf = append(buf, d.resource(i))
				}
			}
			done := end >= len(d.slots)
			d.mu.RUnlock()
			for _, r := range buf {
				if !yield(r) {
					return
				}
			}
			if done {
				return
			}
		}
	}
}

func (d *dataset) count() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.live
}

func (d *dataset) remove(ids []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, id := range ids {
		if i, ok := d.lookupIndex(id); ok {
			d.markRemoved(i)
			out = append(out, id)
		}
	}
	return out
}

// removeRandom removes n live records chosen by a partial Fisher-Yates
// shuffle seeded from the seed and the number of earlier calls, so the same
// sequence of operations always removes the same records.
func (d *dataset) removeRandom(n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	n = min(n, d.live)
	if n <= 0 {
		return nil
	}
	liveIdx := make([]int32, 0, d.live)
	for w, word := range d.removed {
		free := ^word
		for free != 0 {
			b := bits.TrailingZeros64(free)
			free &= free - 1
			if i := w*64 + b; i < len(d.slots) {
				liveIdx = append(liveIdx, int32(i))
			}
		}
	}
	r := newRNG(d.seed, int(d.removals), saltRemove)
	d.removals++
	out := make([]string, 0, n)
	for k := 0; k < n; k++ {
		j := k + r.intn(len(liveIdx)-k)
		liveIdx[k], liveIdx[j] = liveIdx[j], liveIdx[k]
		i := int(liveIdx[k])
		d.markRemoved(i)
		out = append(out, resourceID(d.seed, d.codec, i))
	}
	return out
}

// add appends up to n records (capped so the live count stays within
// MaxResources) and returns their ids.
func (d *dataset) add(n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addLocked(n)
}

// addLocked is add for a caller that holds mu.
func (d *dataset) addLocked(n int) []string {
	n = min(n, MaxResources-d.live)
	if n <= 0 {
		return nil
	}
	first := len(d.slots)
	d.grow(n)
	out := make([]string, 0, n)
	for i := first; i < len(d.slots); i++ {
		out = append(out, resourceID(d.seed, d.codec, i))
	}
	return out
}
