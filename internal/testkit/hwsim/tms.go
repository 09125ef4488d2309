package hwsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"expiry-sync/internal/catalog"
)

// TMS ListResource limits (https://support.huaweicloud.com/api-tms/ListResource.html:
// default 200, at most 10 tags, at most 10 values per key; the limit maximum
// is the BulkMaxLimit knob, 1000 by default as the current page documents).
const (
	tmsDefaultLimit  = 200
	tmsMaxFilterTags = 10
	tmsMaxValues     = 10
)

var knownTMSTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range catalog.TMSResourceTypes() {
		m[t] = true
	}
	return m
}()

type tmsTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// tmsShowResp is ShowResourceTag's answer; nil Tags (TagsFieldMissingResourceIDs)
// omits the field, an empty list is sent as [].
type tmsShowResp struct {
	Tags []tmsTag `json:"tags,omitzero"`
}

type tmsFilterReq struct {
	ProjectID     *string        `json:"project_id"`
	ResourceTypes []string       `json:"resource_types"`
	Tags          []tmsTagFilter `json:"tags"`
	WithoutAnyTag *bool          `json:"without_any_tag"`
	Offset        *int32         `json:"offset"`
	Limit         *int32         `json:"limit"`
}

type tmsTagFilter struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

type tmsResource struct {
	ProjectID    string   `json:"project_id"`
	ProjectName  string   `json:"project_name"`
	ResourceID   string   `json:"resource_id"`
	ResourceName string   `json:"resource_name"`
	ResourceType string   `json:"resource_type"`
	Tags         []tmsTag `json:"tags,omitzero"` // as tmsShowResp.Tags
}

type tmsTypeError struct {
	ErrorCode    string `json:"error_code"`
	ErrorMsg     string `json:"error_msg"`
	ProjectID    string `json:"project_id"`
	ResourceType string `json:"resource_type"`
}

type tmsFilterResp struct {
	Resources  []tmsResource  `json:"resources"`
	Errors     []tmsTypeError `json:"errors"`
	TotalCount *int32         `json:"total_count,omitempty"` // nil when BulkOmitTotalCount
}

func ptr[T any](v T) *T { return &v }

func tmsBad(code, format string, args ...any) *apiError {
	return svcError(http.StatusBadRequest, code, fmt.Sprintf(format, args...))
}

// handleTMSShow serves ShowResourceTag.
func (s *Simulator) handleTMSShow(ex *exchange) (any, *apiError) {
	id := ex.r.PathValue("resource_id")
	if ex.cfg.knobs.TMSPermissionDenied || ex.cfg.forbidden.has(id) {
		return nil, tmsDenied()
	}
	q := ex.r.URL.Query()
	resType, projectID := q.Get("resource_type"), q.Get("project_id")
	switch {
	case resType == "":
		return nil, tmsBad(codeTMSBad, "Bad request. resource_type is required.")
	case !knownTMSTypes[resType] || ex.cfg.unserved.has(resType):
		return nil, tmsBad(codeTMSType, "Invalid resource type. %q is not a TMS resource type.", resType)
	case projectID == "":
		return nil, tmsBad(codeTMSProject, "Project_id is invalid. project_id is required for region-level resource types.")
	}
	d := s.data
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.lookupIndex(id)
	if !ok || d.projects[d.slots[i].project].ID != projectID {
		return nil, svcError(http.StatusNotFound, codeTMSNotFound, "The resources requested cannot be found.")
	}
	if d.tmsTypes[d.slots[i].kind] != resType {
		return nil, tmsBad(codeTMSType, "Invalid resource type. Resource %s is not of type %q.", id, resType)
	}
	if e := ex.cfg.deniedTags(resType, func() string { return d.resourceNoTags(i).EnterpriseProjectID }); e != nil {
		return nil, e
	}
	if ex.cfg.tagsMissing.has(id) {
		return tmsShowResp{}, nil
	}
	var buf [MaxTagsPerResource]tagRef
	return tmsShowResp{Tags: d.pools.tmsTags(d.refs(i, &buf))}, nil
}

// tmsDenied is TMS's answer to an account without the TMS permission
// (TMSPermissionDenied): it concerns every resource alike.
func tmsDenied() *apiError {
	return svcError(http.StatusForbidden, codeTMSDenied, "You do not have permissions to perform the operation.")
}

// ownerTagActions: the owning service's permission a tag read needs, where
// a Huawei page names it (ecs: https://support.huaweicloud.com/intl/en-us/api-ecs/ecs_02_1008.html,
// identity policies).
var ownerTagActions = map[string]string{"ecs": "ecs:cloudServers:showServerTags"}

// deniedTags is the refusal of reading tmsType's tags that TMSDeniedTypes
// asks for, nil when none: the type's, or the type's in the resource's
// enterprise project (ep is asked only when an entry needs it).
func (c *runtimeConfig) deniedTags(tmsType string, ep func() string) *apiError {
	switch {
	case len(c.denied) == 0:
		return nil
	case c.denied.has(tmsType):
		return typeDenied(tmsType, "")
	}
	var id string
	for entry := range c.denied {
		t, want, scoped := strings.Cut(entry, "@")
		if !scoped || t != tmsType {
			continue
		}
		if id == "" {
			id = ep()
		}
		if id == want {
			return typeDenied(tmsType, id)
		}
	}
	return nil
}

// deniedInList is the refusal of a list call (ListResource, ListTags) over
// types: any denied type, even in one enterprise project, refuses it.
func (c *runtimeConfig) deniedInList(types []string) *apiError {
	for _, t := range types {
		for entry := range c.denied {
			if dt, ep, _ := strings.Cut(entry, "@"); dt == t {
				return typeDenied(t, ep)
			}
		}
	}
	return nil
}

// typeDenied is the 403 of a tag read the owning service's permission
// refuses. Its text is the simulator's (no Huawei page shows one): it names
// the type, the enterprise project and the permission, as a client must be
// able to use whatever it names.
func typeDenied(tmsType, ep string) *apiError {
	msg := "You do not have permissions to perform the operation: reading the tags of resource type " + tmsType
	if ep != "" {
		msg += " in enterprise project " + ep
	}
	if a := ownerTagActions[tmsType]; a != "" {
		msg += " needs " + a + "."
	} else {
		msg += " needs the permission of the service that owns it."
	}
	return svcError(http.StatusForbidden, codeTMSDenied, msg)
}

func (p *tagPools) tmsTags(refs []tagRef) []tmsTag {
	out := make([]tmsTag, len(refs))
	for j, t := range refs {
		out[j] = tmsTag{Key: p.keys[t.key], Value: p.values[t.value]}
	}
	return out
}

// tmsQuery is a validated ListResource body.
type tmsQuery struct {
	project      int // index into projects, -1 when unknown
	projectID    string
	kinds        [numKinds]bool
	filters      []compiledTag
	impossible   bool // a filter key no resource has
	untaggedOnly bool
	taggedOnly   bool // an empty filter under BulkEmptyFilter "tagged-only"
	offset       int
	limit        int
	typeErrors   []tmsTypeError
	noTagsField  idSet // TagsFieldMissingResourceIDs
}

// compiledTag is one tag filter resolved against the key pool.
type compiledTag struct {
	key    uint16
	values map[string]bool // nil = any value
}

// handleTMSFilter serves ListResource.
func (s *Simulator) handleTMSFilter(ex *exchange) (any, *apiError) {
	k := &ex.cfg.knobs
	if k.BulkEmptyFilter == BulkMissing {
		return nil, gwError(http.StatusNotFound, codeNoAPI, "The API does not exist or has not been published in the environment")
	}
	if k.TMSPermissionDenied {
		return nil, tmsDenied()
	}
	var req tmsFilterReq
	if e := decodeStrict(ex.body, &req, func(f string, a ...any) *apiError { return tmsBad(codeTMSBad, "Bad request. "+f, a...) }); e != nil {
		return nil, e
	}
	if e := ex.cfg.deniedInList(req.ResourceTypes); e != nil {
		return nil, e
	}
	q, e := s.compileTMSQuery(&req, ex.cfg)
	if e != nil {
		return nil, e
	}
	if len(req.Tags) == 0 && !q.untaggedOnly {
		switch k.BulkEmptyFilter {
		case BulkRefused:
			return nil, tmsBad(codeTMSNoTags, "Tags is empty.")
		case BulkTaggedOnly:
			q.taggedOnly = true
		}
	}
	resp := s.listTMS(q)
	if k.BulkOmitTotalCount {
		resp.TotalCount = nil
	}
	return resp, nil
}

func (s *Simulator) compileTMSQuery(req *tmsFilterReq, cfg *runtimeConfig) (*tmsQuery, *apiError) {
	q := &tmsQuery{project: -1, limit: tmsDefaultLimit, noTagsField: cfg.tagsMissing}
	if req.ProjectID == nil || *req.ProjectID == "" {
		return nil, tmsBad(codeTMSProject, "Project_id is invalid. project_id is required for region-level resource types.")
	}
	q.projectID = *req.ProjectID
	if len(req.ResourceTypes) == 0 {
		return nil, tmsBad(codeTMSBad, "Bad request. resource_types must not be empty.")
	}
	if req.Offset != nil {
		if q.offset = int(*req.Offset); q.offset < 0 {
			return nil, tmsBad(codeTMSOffset, "Offset is invalid. offset must be >= 0, got %d.", q.offset)
		}
	}
	if req.Limit != nil {
		if maxLimit := cfg.knobs.bulkMaxLimit(); *req.Limit < 1 || int(*req.Limit) > maxLimit {
			return nil, tmsBad(codeTMSLimit, "Limit is invalid. limit must be between 1 and %d, got %d.", maxLimit, *req.Limit)
		}
		q.limit = int(*req.Limit)
	}
	q.untaggedOnly = req.WithoutAnyTag != nil && *req.WithoutAnyTag
	if q.untaggedOnly && len(req.Tags) > 0 {
		return nil, tmsBad(codeTMSBad, "Bad request. tags must be empty when without_any_tag is true.")
	}
	if e := s.compileTagFilters(q, req.Tags); e != nil {
		return nil, e
	}
	for j, p := range s.data.projects {
		if p.ID == q.projectID {
			q.project = j
		}
	}
	seen := map[string]bool{}
	for _, t := range req.ResourceTypes {
		if seen[t] {
			continue
		}
		seen[t] = true
		if !knownTMSTypes[t] || cfg.unserved.has(t) {
			q.typeErrors = append(q.typeErrors, tmsTypeError{ErrorCode: codeTMSType, ErrorMsg: "Invalid resource type.", ProjectID: q.projectID, ResourceType: t})
			continue
		}
		for k := range numKinds {
			if s.data.tmsTypes[k] == t {
				q.kinds[k] = true
			}
		}
	}
	return q, nil
}

func (s *Simulator) compileTagFilters(q *tmsQuery, tags []tmsTagFilter) *apiError {
	if len(tags) > tmsMaxFilterTags {
		return tmsBad(codeTMSBad, "Bad request. at most %d tags are allowed, got %d.", tmsMaxFilterTags, len(tags))
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || seen[t.Key] {
			return tmsBad(codeTMSKey, "Key is invalid. Tag keys must be non-empty and unique, got %q.", t.Key)
		}
		seen[t.Key] = true
		if len(t.Values) > tmsMaxValues {
			return tmsBad(codeTMSValues, "Values is too much. At most %d values per key, got %d.", tmsMaxValues, len(t.Values))
		}
		s.data.mu.RLock()
		k, ok := s.data.pools.keyIndex[t.Key]
		s.data.mu.RUnlock()
		if !ok {
			q.impossible = true
			continue
		}
		c := compiledTag{key: uint16(k)}
		if len(t.Values) > 0 {
			c.values = make(map[string]bool, len(t.Values))
			for _, v := range t.Values {
				c.values[v] = true
			}
		}
		q.filters = append(q.filters, c)
	}
	return nil
}

// matchTags reports whether refs carry every filtered key with an allowed
// value.
func (q *tmsQuery) matchTags(p *tagPools, refs []tagRef) bool {
	if q.untaggedOnly {
		return len(refs) == 0
	}
	if q.taggedOnly && len(refs) == 0 {
		return false
	}
	for _, f := range q.filters {
		j := slices.IndexFunc(refs, func(t tagRef) bool { return t.key == f.key })
		if j < 0 || (f.values != nil && !f.values[p.values[refs[j].value]]) {
			return false
		}
	}
	return true
}

// entry is record i as ListResource lists it. Caller holds d.mu.
func (q *tmsQuery) entry(d *dataset, i int, p Project, refs []tagRef) tmsResource {
	r := tmsResource{
		ProjectID: p.ID, ProjectName: p.Name,
		ResourceID: resourceID(d.seed, d.codec, i), ResourceName: d.name(i),
		ResourceType: d.tmsTypes[d.slots[i].kind],
	}
	if !q.noTagsField.has(r.ResourceID) {
		r.Tags = d.pools.tmsTags(refs)
	}
	return r
}

// listTMS scans the dataset in listing order, so pages are stable.
func (s *Simulator) listTMS(q *tmsQuery) tmsFilterResp {
	resp := tmsFilterResp{Resources: []tmsResource{}, Errors: q.typeErrors}
	if resp.Errors == nil {
		resp.Errors = []tmsTypeError{}
	}
	resp.TotalCount = ptr(int32(0))
	if q.project < 0 || q.impossible {
		return resp
	}
	d := s.data
	p := d.projects[q.project]
	d.mu.RLock()
	defer d.mu.RUnlock()
	var buf [MaxTagsPerResource]tagRef
	filtering := q.untaggedOnly || q.taggedOnly || len(q.filters) > 0
	total := 0
	for i, sl := range d.slots {
		if int(sl.project) != q.project || !q.kinds[sl.kind] || d.isRemoved(i) {
			continue
		}
		var refs []tagRef
		if filtering {
			if refs = d.refs(i, &buf); !q.matchTags(d.pools, refs) {
				continue
			}
		}
		if total >= q.offset && len(resp.Resources) < q.limit {
			if !filtering {
				refs = d.refs(i, &buf)
			}
			resp.Resources = append(resp.Resources, q.entry(d, i, p, refs))
		}
		total++
	}
	resp.TotalCount = ptr(int32(total))
	return resp
}
