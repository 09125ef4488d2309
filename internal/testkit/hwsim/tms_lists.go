package hwsim

import (
	"slices"
	"strconv"
	"strings"

	"expiry-sync/internal/catalog"
)

// ListTags (GET /v1.0/tags, https://support.huaweicloud.com/api-tms/ListTags.html):
// the tag keys, each with its values, used by the resources of the given
// types in a project.

type tmsTagValues struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

type tmsTagsResp struct {
	Tags   []tmsTagValues `json:"tags"`
	Errors []tmsTypeError `json:"errors"`
}

func (s *Simulator) handleTMSTags(ex *exchange) (any, *apiError) {
	if ex.cfg.knobs.TMSPermissionDenied {
		return nil, tmsDenied()
	}
	q := ex.r.URL.Query()
	projectID, types := q.Get("project_id"), q.Get("resource_types")
	switch tagTypes := q.Get("tag_types"); {
	case types == "":
		return nil, tmsBad(codeTMSBad, "Bad request. resource_types is required.")
	case projectID == "":
		return nil, tmsBad(codeTMSProject, "Project_id is invalid. project_id is required for region-level resource types.")
	case tagTypes != "" && tagTypes != "resource":
		return nil, tmsBad(codeTMSBad, "Bad request. tag_types must be resource, got %q.", tagTypes)
	}
	if e := ex.cfg.deniedInList(strings.Split(types, ",")); e != nil {
		return nil, e
	}
	resp := tmsTagsResp{Tags: []tmsTagValues{}, Errors: []tmsTypeError{}}
	var wanted [numKinds]bool
	for _, t := range strings.Split(types, ",") {
		if !knownTMSTypes[t] || ex.cfg.unserved.has(t) {
			resp.Errors = append(resp.Errors, tmsTypeError{ErrorCode: codeTMSType, ErrorMsg: "Invalid resource type.", ProjectID: projectID, ResourceType: t})
			continue
		}
		for k := range numKinds {
			wanted[k] = wanted[k] || s.data.tmsTypes[k] == t
		}
	}
	resp.Tags = s.data.tagValues(projectID, wanted)
	return resp, nil
}

// tagValues collects the keys and values used by live records of the wanted
// kinds in a project, sorted.
func (d *dataset) tagValues(projectID string, wanted [numKinds]bool) []tmsTagValues {
	d.mu.RLock()
	defer d.mu.RUnlock()
	byKey := map[uint16]map[uint16]bool{}
	var buf [MaxTagsPerResource]tagRef
	for i, sl := range d.slots {
		if d.isRemoved(i) || !wanted[sl.kind] || d.projects[sl.project].ID != projectID {
			continue
		}
		for _, t := range d.refs(i, &buf) {
			if byKey[t.key] == nil {
				byKey[t.key] = map[uint16]bool{}
			}
			byKey[t.key][t.value] = true
		}
	}
	out := make([]tmsTagValues, 0, len(byKey))
	for k, vals := range byKey {
		tv := tmsTagValues{Key: d.pools.keys[k]}
		for v := range vals {
			tv.Values = append(tv.Values, d.pools.values[v])
		}
		slices.Sort(tv.Values)
		out = append(out, tv)
	}
	slices.SortFunc(out, func(a, b tmsTagValues) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// ListProviders (GET /v1.0/tms/providers,
// https://support.huaweicloud.com/api-tms/ListProviders.html): the services
// and resource types TMS serves. It needs no IAM permission.

const (
	providersDefaultLimit = 10
	providersMaxLimit     = 200
)

type tmsResourceTypeBody struct {
	ResourceType string   `json:"resource_type"`
	DisplayName  string   `json:"resource_type_i18n_display_name"`
	Regions      []string `json:"regions"`
	Global       bool     `json:"global"`
}

type tmsProviderBody struct {
	Provider      string                `json:"provider"`
	DisplayName   string                `json:"provider_i18n_display_name"`
	ResourceTypes []tmsResourceTypeBody `json:"resource_types"`
}

type tmsProvidersResp struct {
	Providers  []tmsProviderBody `json:"providers"`
	TotalCount int32             `json:"total_count"`
}

func (s *Simulator) handleTMSProviders(ex *exchange) (any, *apiError) {
	if ex.cfg.knobs.TMSProvidersRefused {
		return nil, tmsDenied()
	}
	q := ex.r.URL.Query()
	offset, limit := 0, providersDefaultLimit
	var err error
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return nil, tmsBad(codeTMSOffset, "Offset is invalid. offset must be a number >= 0, got %q.", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > providersMaxLimit {
			return nil, tmsBad(codeTMSLimit, "Limit is invalid. limit must be between 1 and %d, got %q.", providersMaxLimit, v)
		}
	}
	all := providers(s.unservedTypes(ex.cfg), q.Get("provider"))
	return tmsProvidersResp{
		Providers:  all[min(offset, len(all)):min(offset+limit, len(all))],
		TotalCount: int32(len(all)),
	}, nil
}

// unservedTypes are the TMS types ListProviders leaves out: the knob's, and
// without FullCatalog the types the simulator's records carry no tags for
// (it then plays a TMS that does not serve them: a worker restricted to
// ListProviders' answer stores them untagged instead of asking).
func (s *Simulator) unservedTypes(cfg *runtimeConfig) idSet {
	out := newSet(nil)
	for t := range cfg.unserved {
		out[t] = struct{}{}
	}
	for k, info := range kinds {
		full, _ := catalog.Default().Lookup(info.resType, info.main)
		if full != "" && s.data.tmsTypes[k] != full {
			out[full] = struct{}{}
		}
	}
	return out
}

// providers groups the catalog's TMS types by provider, without the
// unserved ones, sorted by provider name.
func providers(unserved idSet, only string) []tmsProviderBody {
	byName := map[string]*tmsProviderBody{}
	var names []string
	for _, e := range catalog.Default().Entries() {
		if unserved.has(e.TMSType) || (only != "" && e.Provider != only) {
			continue
		}
		p := byName[e.Provider]
		if p == nil {
			p = &tmsProviderBody{Provider: e.Provider, DisplayName: strings.ToUpper(e.Provider), ResourceTypes: []tmsResourceTypeBody{}}
			byName[e.Provider] = p
			names = append(names, e.Provider)
		}
		if !slices.ContainsFunc(p.ResourceTypes, func(b tmsResourceTypeBody) bool { return b.ResourceType == e.TMSType }) {
			p.ResourceTypes = append(p.ResourceTypes, tmsResourceTypeBody{
				ResourceType: e.TMSType, DisplayName: e.TMSType, Regions: slices.Clone(regionsInUse),
			})
		}
	}
	slices.Sort(names)
	out := make([]tmsProviderBody, 0, len(names))
	for _, n := range names {
		out = append(out, *byName[n])
	}
	return out
}
