package hwsim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// BSS limits (QueryResourcesReq).
const (
	bssDefaultLimit = 10
	bssMaxLimit     = 500
	bssMaxIDs       = 50
	bssTimeFormat   = "2006-01-02T15:04:05Z"
)

// bssQueryReq is model.QueryResourcesReq; pointers tell absent from zero.
type bssQueryReq struct {
	ResourceIDs      []string `json:"resource_ids"`
	OrderID          *string  `json:"order_id"`
	OnlyMainResource *int32   `json:"only_main_resource"`
	StatusList       []int32  `json:"status_list"`
	Offset           *int32   `json:"offset"`
	Limit            *int32   `json:"limit"`
	ExpireTimeBegin  *string  `json:"expire_time_begin"`
	ExpireTimeEnd    *string  `json:"expire_time_end"`
	ServiceTypeCode  *string  `json:"service_type_code"`
	CustomerID       *string  `json:"customer_id"`
}

// orderInstance is the wire form of model.OrderInstanceV2.
type orderInstance struct {
	ID                string              `json:"id"`
	ResourceID        *string             `json:"resource_id,omitempty"`
	ResourceName      string              `json:"resource_name"`
	RegionCode        string              `json:"region_code"`
	ServiceTypeCode   string              `json:"service_type_code"`
	ResourceTypeCode  string              `json:"resource_type_code"`
	ResourceTypeName  string              `json:"resource_type_name"`
	ServiceTypeName   string              `json:"service_type_name"`
	ResourceSpecCode  string              `json:"resource_spec_code"`
	ProjectID         *string             `json:"project_id,omitempty"`
	ProductID         string              `json:"product_id"`
	ParentResourceID  string              `json:"parent_resource_id,omitempty"`
	IsMainResource    int32               `json:"is_main_resource"`
	Status            *int32              `json:"status,omitempty"`
	EffectiveTime     string              `json:"effective_time"`
	ExpireTime        string              `json:"expire_time"`
	ExpirePolicy      *int32              `json:"expire_policy,omitempty"`
	ProductSpecDesc   string              `json:"product_spec_desc,omitempty"`
	SpecSize          float64             `json:"spec_size,omitempty"`
	SpecSizeMeasureID int32               `json:"spec_size_measure_id,omitempty"`
	UpdateTime        string              `json:"update_time"`
	EnterpriseProject *enterpriseProjJSON `json:"enterprise_project,omitempty"`
}

type enterpriseProjJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type bssListResp struct {
	Data       []orderInstance `json:"data"`
	TotalCount int32           `json:"total_count"`
}

func bssParam(format string, args ...any) *apiError {
	return svcError(http.StatusBadRequest, codeBSSParam, "Invalid parameter: "+fmt.Sprintf(format, args...))
}

// bssFilter is a parsed QueryResourcesReq. ids, when non-nil, are the
// candidate indices already expanded by only_main_resource.
type bssFilter struct {
	mainOnly   bool
	statuses   uint8 // bit n set = status n wanted; 0 = all
	begin, end int64 // expire offsets from Epoch, inclusive
	service    string
	ids        []int
	lookup     bool // the query carries resource_ids (even when LookupIgnoresIDs drops them)
}

func (s *Simulator) handleBSSList(ex *exchange) (any, *apiError) {
	var req bssQueryReq
	if e := decodeStrict(ex.body, &req, bssParam); e != nil {
		return nil, e
	}
	k := &ex.cfg.knobs
	if e := lookupRefusal(k, req.ResourceIDs); e != nil {
		return nil, e
	}
	offset, limit, e := pageBounds(&req)
	if e != nil {
		return nil, e
	}
	f, e := s.parseBSSFilter(&req, ex.cfg)
	if e != nil {
		return nil, e
	}
	if e := listFailure(k, offset); e != nil {
		return nil, e
	}
	resp := s.listBSS(f, offset, k.recordCap(f.lookup, limit), ex.cfg)
	if !f.lookup && ex.cfg.emptyPages.empty(offset) {
		resp.Data = []orderInstance{}
	}
	s.countBSSList(ex.cfg)
	return resp, nil
}

// pageBounds reads offset and limit, with their documented defaults.
func pageBounds(req *bssQueryReq) (offset, limit int, e *apiError) {
	offset, limit = 0, bssDefaultLimit
	if req.Offset != nil {
		if offset = int(*req.Offset); offset < 0 {
			return 0, 0, bssParam("offset must be >= 0, got %d", offset)
		}
	}
	if req.Limit != nil {
		if limit = int(*req.Limit); limit < 1 || limit > bssMaxLimit {
			return 0, 0, bssParam("limit must be between 1 and %d, got %d", bssMaxLimit, limit)
		}
	}
	return offset, limit, nil
}

// listFailure is the ListFailFromOffset knob: a listing that cannot go past
// some offset. CBC.0100 (400) is permanent for a client, CBC.0999 (500) is not.
func listFailure(k *Knobs, offset int) *apiError {
	if k.ListFailFromOffset == nil || offset < *k.ListFailFromOffset {
		return nil
	}
	if k.ListFailCode == codeBSSSystem {
		return serverError(serviceBSS)
	}
	return bssParam("offset %d is beyond the records this listing can serve", offset)
}

func (s *Simulator) parseBSSFilter(req *bssQueryReq, cfg *runtimeConfig) (*bssFilter, *apiError) {
	f := &bssFilter{begin: math.MinInt64, end: math.MaxInt64, lookup: len(req.ResourceIDs) > 0}
	if req.OnlyMainResource != nil {
		switch *req.OnlyMainResource {
		case 0:
		case 1:
			f.mainOnly = true
		default:
			return nil, bssParam("only_main_resource must be 0 or 1, got %d", *req.OnlyMainResource)
		}
	}
	for _, st := range req.StatusList {
		if st < 2 || st > 5 {
			return nil, bssParam("status_list values must be 2, 3, 4 or 5, got %d", st)
		}
		f.statuses |= 1 << st
	}
	var e *apiError
	if f.begin, e = s.parseExpireBound("expire_time_begin", req.ExpireTimeBegin, f.begin); e != nil {
		return nil, e
	}
	if f.end, e = s.parseExpireBound("expire_time_end", req.ExpireTimeEnd, f.end); e != nil {
		return nil, e
	}
	if req.ServiceTypeCode != nil {
		if *req.ServiceTypeCode == "" {
			return nil, bssParam("service_type_code must not be an empty string")
		}
		f.service = *req.ServiceTypeCode
	}
	if len(req.ResourceIDs) > bssMaxIDs {
		return nil, bssParam("resource_ids has %d ids, at most %d allowed", len(req.ResourceIDs), bssMaxIDs)
	}
	if f.lookup && !cfg.knobs.LookupIgnoresIDs {
		f.ids = s.expandIDs(cfg.odd.internal(req.ResourceIDs), f.mainOnly)
	}
	if req.OrderID != nil && *req.OrderID != "" {
		// "订单号。查询指定订单下的资源" (QueryResourcesReq.order_id): the
		// renewal orders' resources (renew.go); the dataset's own records
		// carry no order id, so any other order lists nothing.
		mains, _ := s.orderMains(*req.OrderID)
		byOrder := s.expandIDs(mains, f.mainOnly)
		if f.ids != nil {
			byOrder = slices.DeleteFunc(byOrder, func(i int) bool { return !slices.Contains(f.ids, i) })
		}
		f.ids = byOrder
	}
	return f, nil
}

// parseExpireBound converts a bound to an offset from Epoch; absent or
// empty means no bound (as the API documents).
func (s *Simulator) parseExpireBound(field string, v *string, def int64) (int64, *apiError) {
	if v == nil || *v == "" {
		return def, nil
	}
	t, err := time.Parse(bssTimeFormat, *v)
	if err != nil {
		return 0, bssParam("%s must be a UTC time like 2019-05-06T08:05:01Z, got %q", field, *v)
	}
	return int64(t.Sub(s.data.epoch) / time.Second), nil
}

// expandIDs resolves resource ids to live indices, adding the children of
// a listed main record unless mainOnly. A listed child is returned on its
// own whatever mainOnly says, as the API documents.
func (s *Simulator) expandIDs(ids []string, mainOnly bool) []int {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := []int{}
	for _, id := range ids {
		i, ok := d.lookupIndex(id)
		if !ok {
			continue
		}
		out = append(out, i)
		if mainOnly || d.slots[i].parent != 0 {
			continue
		}
		for j := i + 1; j < len(d.slots) && int(d.slots[j].parent) == j-i; j++ {
			if !d.isRemoved(j) {
				out = append(out, j)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// match applies the filters other than resource_ids to slot sl.
func (f *bssFilter) match(sl slot, listed bool) bool {
	if f.mainOnly && sl.parent != 0 && !listed {
		return false
	}
	if f.statuses != 0 && f.statuses&(1<<sl.status) == 0 {
		return false
	}
	if e := int64(sl.expire); e < f.begin || e > f.end {
		return false
	}
	return f.service == "" || kinds[sl.kind].service == f.service
}

// listBSS counts every match and materialises the requested page. The scan
// is linear over the compact slots, cheap even at a million records; an
// order other than the index order sorts the matches first.
func (s *Simulator) listBSS(f *bssFilter, offset, limit int, cfg *runtimeConfig) bssListResp {
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	sorted := cfg.knobs.ListOrder != "" && cfg.knobs.ListOrder != ListOrderIndex
	page := make([]orderInstance, 0, min(limit, 64))
	var matches []int // only when sorting: the index order streams
	total := 0
	visit := func(i int, listed bool) {
		if d.isRemoved(i) || !f.match(d.slots[i], listed) {
			return
		}
		switch {
		case sorted:
			matches = append(matches, i)
		case total >= offset && len(page) < limit:
			page = append(page, cfg.render(d.resourceNoTags(i), f.lookup))
		}
		total++
	}
	if f.ids != nil {
		for _, i := range f.ids {
			visit(i, true)
		}
	} else {
		for i := range d.slots {
			visit(i, false)
		}
	}
	if sorted {
		d.sortListing(matches, cfg.knobs.ListOrder)
		for _, i := range matches[min(offset, total):min(offset+limit, total)] {
			page = append(page, cfg.render(d.resourceNoTags(i), f.lookup))
		}
	}
	return bssListResp{Data: page, TotalCount: int32(total)}
}

// sortListing orders matched indices by the ListOrder knob. Caller holds mu.
func (d *dataset) sortListing(matches []int, order string) {
	switch order {
	case ListOrderExpire:
		ids := d.idsOf(matches)
		slices.SortStableFunc(matches, func(a, b int) int {
			if c := cmp.Compare(d.slots[a].expire, d.slots[b].expire); c != 0 {
				return c
			}
			return strings.Compare(ids[a], ids[b])
		})
	case ListOrderExpireShuffled:
		// A fresh shuffle under a stable sort: ties come in a new order on
		// every call.
		rand.Shuffle(len(matches), func(a, b int) { matches[a], matches[b] = matches[b], matches[a] })
		slices.SortStableFunc(matches, func(a, b int) int { return cmp.Compare(d.slots[a].expire, d.slots[b].expire) })
	case ListOrderID:
		ids := d.idsOf(matches)
		slices.SortFunc(matches, func(a, b int) int { return strings.Compare(ids[a], ids[b]) })
	}
}

func (d *dataset) idsOf(indices []int) map[int]string {
	ids := make(map[int]string, len(indices))
	for _, i := range indices {
		ids[i] = resourceID(d.seed, d.codec, i)
	}
	return ids
}

func toOrderInstance(r Resource) orderInstance {
	return orderInstance{
		ID: r.ID, ResourceID: &r.ResourceID, ResourceName: r.ResourceName, RegionCode: r.RegionCode,
		ServiceTypeCode: r.ServiceTypeCode, ResourceTypeCode: r.ResourceTypeCode,
		ResourceTypeName: r.ResourceTypeName, ServiceTypeName: r.ServiceTypeName,
		ResourceSpecCode: r.ResourceSpecCode, ProjectID: &r.ProjectID, ProductID: r.ProductID,
		ParentResourceID: r.ParentResourceID, IsMainResource: r.IsMainResource, Status: &r.Status,
		EffectiveTime: r.EffectiveTime.Format(bssTimeFormat), ExpireTime: r.ExpireTime.Format(bssTimeFormat),
		ExpirePolicy: &r.ExpirePolicy, ProductSpecDesc: r.ProductSpecDesc,
		SpecSize: r.SpecSize, SpecSizeMeasureID: r.SpecSizeMeasureID,
		UpdateTime:        r.UpdateTime.Format(bssTimeFormat),
		EnterpriseProject: &enterpriseProjJSON{ID: r.EnterpriseProjectID, Name: r.EnterpriseProjectName},
	}
}

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"

// decodeStrict decodes a JSON body into v; an empty body is an empty
// object. Type errors name the offending field.
func decodeStrict(body []byte, v any, bad func(string, ...any) *apiError) *apiError {
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return bad("field %s must be of type %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return bad("request body is not valid JSON: %v", err)
	}
	// Not dec.More, which is false before a stray ']' or '}'.
	if len(bytes.TrimLeft(body[dec.InputOffset():], jsonSpace)) > 0 {
		return bad("request body has trailing data after the JSON object")
	}
	return nil
}
