package hwsim

import (
	"strconv"
	"time"
)

// Resource is one simulated yearly/monthly resource: every OrderInstanceV2
// field the BSS API serves, plus its TMS tags.
type Resource struct {
	ID                    string            `json:"id"` // order instance id
	ResourceID            string            `json:"resource_id"`
	ResourceName          string            `json:"resource_name"`
	RegionCode            string            `json:"region_code"`
	ProjectID             string            `json:"project_id"`
	ProjectName           string            `json:"project_name"`
	ServiceTypeCode       string            `json:"service_type_code"`
	ServiceTypeName       string            `json:"service_type_name"`
	ResourceTypeCode      string            `json:"resource_type_code"`
	ResourceTypeName      string            `json:"resource_type_name"`
	ResourceSpecCode      string            `json:"resource_spec_code"`
	ProductID             string            `json:"product_id"`
	ProductSpecDesc       string            `json:"product_spec_desc"`
	SpecSize              float64           `json:"spec_size,omitempty"`            // GB for disks, Mbit/s for bandwidth; 0 = not applicable
	SpecSizeMeasureID     int32             `json:"spec_size_measure_id,omitempty"` // 17 = GB, 15 = Mbit/s
	ParentResourceID      string            `json:"parent_resource_id,omitempty"`   // set on children only
	IsMainResource        int32             `json:"is_main_resource"`               // 1 main, 0 child
	Status                int32             `json:"status"`                         // 2 in use, 3 closed, 4 frozen, 5 expired
	EffectiveTime         time.Time         `json:"effective_time"`                 // UTC, second precision
	ExpireTime            time.Time         `json:"expire_time"`                    // UTC, second precision
	UpdateTime            time.Time         `json:"update_time"`                    // UTC, second precision
	ExpirePolicy          int32             `json:"expire_policy"`                  // 0..5
	EnterpriseProjectID   string            `json:"enterprise_project_id"`
	EnterpriseProjectName string            `json:"enterprise_project_name"`
	TMSResourceType       string            `json:"tms_resource_type,omitempty"` // "" when TMS is never asked
	Tags                  map[string]string `json:"tags,omitempty"`              // nil when none
}

// Effective periods in days; the longest exceeds the latest expire offset
// so that every resource became effective before Epoch.
var periodDays = []int{30, 90, 180, 365, 730, 1095}

var (
	envs     = []string{"prod", "test", "dev", "staging"}
	envsCN   = []string{"生产", "测试", "开发"}
	roles    = []string{"web", "api", "db", "cache", "batch", "gw", "worker"}
	vmSpecs  = []string{"s6.large.2.linux", "s6.xlarge.2.linux", "c7.xlarge.2.linux", "c7.2xlarge.4.linux", "m6.large.8.win", "kc1.large.2.linux"}
	vmDescs  = []string{"通用计算型", "通用计算增强型", "内存优化型", "鲲鹏通用计算增强型"}
	diskSpec = []string{"SSD", "SAS", "GPSSD", "ESSD"}
	ipSpecs  = []string{"5_bgp", "5_sbgp"}
	bwSpecs  = []string{"19_bgp", "19_sbgp"}
	rdsSpecs = []string{"rds.mysql.x1.large.2.ha", "rds.pg.c6.xlarge.4.ha", "rds.mysql.n1.large.2"}
	dcsSpecs = []string{"redis.ha.xu1.large.r2.2", "redis.single.xu1.large.1", "redis.cluster.xu1.large.4"}
)

// resource materialises record i. Caller holds d.mu (read).
func (d *dataset) resource(i int) Resource {
	res := d.resourceNoTags(i)
	if res.TMSResourceType != "" {
		res.Tags = d.tagMap(i)
	}
	return res
}

// resourceNoTags is resource without the tags, which BSS never serves.
func (d *dataset) resourceNoTags(i int) Resource {
	s := d.slots[i]
	info := &kinds[s.kind]
	main := d.mainIndex(i)
	p := d.projects[s.project]

	res := Resource{
		ResourceID:       resourceID(d.seed, d.codec, i),
		RegionCode:       p.Region,
		ProjectID:        p.ID,
		ProjectName:      p.Name,
		ServiceTypeCode:  info.service,
		ServiceTypeName:  info.serviceName,
		ResourceTypeCode: info.resType,
		ResourceTypeName: info.resTypeName,
		Status:           int32(s.status),
		ExpireTime:       d.epoch.Add(time.Duration(s.expire) * time.Second),
		TMSResourceType:  d.tmsTypes[s.kind],
		IsMainResource:   1,
	}
	if main != i {
		res.IsMainResource = 0
		res.ParentResourceID = resourceID(d.seed, d.codec, main)
	}
	d.fillOrder(&res, main, s.expire)
	if p, ok := d.policies[i]; ok {
		res.ExpirePolicy = p
	}
	d.fillDetail(&res, i, s.kind)
	res.ResourceName = d.name(i)
	return res
}

// fillOrder sets the fields a record shares with its order, drawn from the
// main record's stream so that children carry the parent's values.
func (d *dataset) fillOrder(res *Resource, main int, expire int32) {
	r := newRNG(d.seed, main, saltOrder)
	days := pick(&r, periodDays)
	if days*24*3600 < int(expire) {
		days = periodDays[len(periodDays)-1]
	}
	res.EffectiveTime = res.ExpireTime.Add(-time.Duration(days) * 24 * time.Hour)
	// Updated some time between becoming effective and Epoch (or expiry).
	last := res.ExpireTime
	if d.epoch.Before(last) {
		last = d.epoch
	}
	span := int(last.Sub(res.EffectiveTime) / time.Second)
	res.UpdateTime = res.EffectiveTime.Add(time.Duration(r.intn(max(span, 1))) * time.Second)
	res.ExpirePolicy = int32(r.intn(6))
	ep := pick(&r, d.eps)
	res.EnterpriseProjectID, res.EnterpriseProjectName = ep.id, ep.name
}

// fillDetail sets the order instance id and the spec fields of record i.
func (d *dataset) fillDetail(res *Resource, i int, k kind) {
	r := newRNG(d.seed, i, saltDetail)
	res.ID = r.hexID(32)
	switch k {
	case kindVM:
		res.ResourceSpecCode = pick(&r, vmSpecs)
		res.ProductSpecDesc = pick(&r, vmDescs) + "|" + res.ResourceSpecCode
	case kindVMVolume, kindVolume:
		res.ResourceSpecCode = pick(&r, diskSpec)
		res.SpecSize = float64(r.between(1, 64) * 20)
		res.SpecSizeMeasureID = 17
		res.ProductSpecDesc = "云硬盘|" + res.ResourceSpecCode + "|" + strconv.Itoa(int(res.SpecSize)) + "GB"
	case kindEIP:
		res.ResourceSpecCode = pick(&r, ipSpecs)
		res.ProductSpecDesc = "全动态BGP"
	case kindBandwidth:
		res.ResourceSpecCode = pick(&r, bwSpecs)
		res.SpecSize = float64(r.between(1, 300))
		res.SpecSizeMeasureID = 15
		res.ProductSpecDesc = "独享带宽|" + strconv.Itoa(int(res.SpecSize)) + "Mbit/s"
	case kindRDS:
		res.ResourceSpecCode = pick(&r, rdsSpecs)
		res.ProductSpecDesc = "云数据库|" + res.ResourceSpecCode
	case kindDCS:
		res.ResourceSpecCode = pick(&r, dcsSpecs)
		res.ProductSpecDesc = "分布式缓存|" + res.ResourceSpecCode
	}
	res.ProductID = productID(d.seed, res.ResourceSpecCode)
}

// productID is stable per spec code, as a real product catalogue id is.
func productID(seed int64, spec string) string {
	h := uint64(seed)
	for i := 0; i < len(spec); i++ {
		h = splitmix64(h ^ uint64(spec[i]))
	}
	r := rng{state: h}
	return r.hexID(32)
}

// name returns the resource name of record i; children derive theirs from
// the main record, as Huawei names attached volumes after their server.
func (d *dataset) name(i int) string {
	s := d.slots[i]
	if s.parent != 0 {
		parent := d.name(d.mainIndex(i))
		if s.kind == kindBandwidth {
			return "bandwidth-" + parent
		}
		return parent + "-volume-" + pad4(int(s.parent)-1)
	}
	r := newRNG(d.seed, i, saltName)
	info := &kinds[s.kind]
	if s.kind == kindEIP {
		return pick(&r, []string{"121.36.", "119.3.", "124.70.", "159.138."}) +
			strconv.Itoa(r.intn(256)) + "." + strconv.Itoa(r.between(1, 254))
	}
	if r.intn(10) == 0 { // some names in Chinese
		return pick(&r, envsCN) + "-" + info.namePrefCN + "-" + pad4(i%10000)
	}
	mid := pick(&r, roles)
	switch s.kind {
	case kindVolume:
		mid = "data"
	case kindRDS:
		mid = pick(&r, []string{"mysql", "pg"})
	case kindDCS:
		mid = "redis"
	}
	return info.namePrefix + "-" + pick(&r, envs) + "-" + mid + "-" + pad4(i%10000)
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}
