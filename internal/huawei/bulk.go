package huawei

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"golang.org/x/sync/semaphore"
)

const (
	apiListResource = "TMS ListResource"
	apiListTags     = "TMS ListTags"
)

// ListResource limits. The current API page
// (https://support.huaweicloud.com/api-tms/ListResource.html) allows limit up
// to 1000; older pages and the SDK comment (services/tms/v1/model/
// model_resq_tag_resource.go) say 200, so a refused 1000 steps down to 200.
// A filter takes at most 10 values per key (TMS.0016, error-code page).
const (
	BulkLimit         = 1000
	BulkFallbackLimit = 200
	maxFilterValues   = 10
	// maxBulkCalls stops a listing that never ends (an API ignoring offset
	// and total_count would otherwise be paged forever).
	maxBulkCalls = 10_000
)

// Bulk strategies (BulkResult.Strategy), one per plausible behaviour of an
// empty tag filter, which Huawei's pages disagree about.
const (
	// StrategyEmptyFilter: the empty filter listed every resource (it
	// returned untagged ones too).
	StrategyEmptyFilter = "empty-filter"
	// StrategyTaggedUntagged: the empty filter listed only tagged resources
	// (or the type has no untagged one); without_any_tag=true listed the rest.
	StrategyTaggedUntagged = "tagged+untagged"
	// StrategyPerKey: the empty filter was refused (400 TMS.0012 "Tags is
	// empty"); each tag key of ListTags was listed, then without_any_tag.
	StrategyPerKey = "per-key"
)

const (
	phaseAll      = "all"
	phaseUntagged = "untagged"
	phaseKeys     = "keys"
	phaseDone     = "done"
)

// TaggedResource is one resource of a bulk listing with all its tags (an
// empty, non-nil map when it has none).
type TaggedResource struct {
	ResourceID string
	Tags       map[string]string
}

// BulkCursor is a resumable position in a bulk listing, small and
// JSON-serialisable for activity heartbeats. The zero cursor starts over.
type BulkCursor struct {
	Phase       string `json:"phase,omitempty"`
	Strategy    string `json:"strategy,omitempty"`
	Limit       int    `json:"limit,omitempty"`
	Offset      int    `json:"offset,omitempty"`
	SawUntagged bool   `json:"untagged_seen,omitempty"` // the empty filter returned an untagged resource
	Key         string `json:"key,omitempty"`           // per-key: the key being listed
	Chunk       int    `json:"chunk,omitempty"`         // per-key: which 10 of its values
	PrevPage    string `json:"prev,omitempty"`          // first and last id of the previous page of this query
	Calls       int    `json:"calls,omitempty"`
	Emitted     int    `json:"emitted,omitempty"`
	// Budget, set by the caller on the first cursor, is how many calls
	// reading these resources one by one would take (0: unknown): a per-key
	// listing expected to cost more is not attempted.
	Budget int `json:"budget,omitempty"`
}

// BulkResult says how a bulk listing went. With a nil error and an empty
// Unavailable, the pages handed to the sink held every resource of the type
// in the project, untagged ones with an empty tag map.
type BulkResult struct {
	Strategy  string
	Calls     int
	Resources int // handed to the sink, over every attempt resumed from the cursor
	// Unavailable says why bulk cannot serve this project and type (the API
	// is missing, TMS refuses the type, per-key listing would cost more than
	// per-resource reads): read those resources one by one.
	Unavailable string
}

// BulkTags lists every resource of a TMS type in a project with its tags,
// whatever TMS does with an empty tag filter, starting from `from` and
// handing each page to sink with the cursor to resume after it. A sink error
// stops the listing and is returned as is.
func (c *Client) BulkTags(
	ctx context.Context,
	projectID, tmsType string,
	from BulkCursor,
	sink func(page []TaggedResource, next BulkCursor) error,
) (BulkResult, error) {
	b := &bulk{c: c, ctx: ctx, project: projectID, typ: tmsType, cur: from, sink: sink}
	if b.cur.Phase == "" {
		b.cur = BulkCursor{Phase: phaseAll, Strategy: StrategyEmptyFilter, Limit: BulkLimit, Budget: from.Budget}
	}
	for b.cur.Phase != phaseDone && b.unavailable == "" {
		if b.cur.Calls >= maxBulkCalls {
			return b.result(), &APIError{
				API:     apiListResource,
				Kind:    KindBadResponse,
				Message: fmt.Sprintf("the listing did not end after %d calls", maxBulkCalls),
			}
		}
		if err := b.step(); err != nil {
			return b.result(), err
		}
	}
	return b.result(), nil
}

type bulk struct {
	c           *Client
	ctx         context.Context
	project     string
	typ         string
	cur         BulkCursor
	sink        func([]TaggedResource, BulkCursor) error
	keys        []keyValues // per-key phase: ListTags's answer, sorted by key
	unavailable string
}

type keyValues struct {
	key    string
	values []string
}

func (b *bulk) result() BulkResult {
	return BulkResult{
		Strategy:    b.cur.Strategy,
		Calls:       b.cur.Calls,
		Resources:   b.cur.Emitted,
		Unavailable: b.unavailable,
	}
}

func (b *bulk) step() error {
	switch b.cur.Phase {
	case phaseAll:
		return b.list(&model.ResqTagResource{Tags: []model.Tag{}}, b.endAll)
	case phaseUntagged:
		return b.list(&model.ResqTagResource{Tags: []model.Tag{}, WithoutAnyTag: ptr(true)}, b.endUntagged)
	case phaseKeys:
		return b.keyStep()
	}
	return fmt.Errorf("bulk cursor: unknown phase %q", b.cur.Phase)
}

// endAll follows the empty-filter listing: untagged resources among its
// answers prove it listed everything; otherwise without_any_tag lists them.
func (b *bulk) endAll() {
	if b.cur.SawUntagged {
		b.next(phaseDone)
		return
	}
	b.cur.Strategy = StrategyTaggedUntagged
	b.next(phaseUntagged)
}

func (b *bulk) endUntagged() { b.next(phaseDone) }

// next moves to a phase's first page.
func (b *bulk) next(phase string) {
	b.cur.Phase, b.cur.Offset, b.cur.PrevPage = phase, 0, ""
}

// WithBulkPages bounds the bulk listing pages the client holds at once,
// from the call until the sink has taken the page: pages is shared by
// every account's client of a worker, so its memory does not grow with
// the project/type pairs listed together (each page is a few MB decoded).
func WithBulkPages(pages *semaphore.Weighted) Option {
	return func(c *Client) { c.bulkPages = pages }
}

// list fetches one page of a query and hands it on; done runs after the
// query's last page.
func (b *bulk) list(body *model.ResqTagResource, done func()) error {
	if pages := b.c.bulkPages; pages != nil {
		if err := pages.Acquire(b.ctx, 1); err != nil {
			return err
		}
		defer pages.Release(1)
	}
	body.ProjectId, body.ResourceTypes = ptr(b.project), []string{b.typ}
	body.Offset, body.Limit = ptr(int32(b.cur.Offset)), ptr(int32(b.cur.Limit))
	b.cur.Calls++
	resp, err := call(b.ctx, b.c.observer, b.c.tmsLimit, apiListResource, func() (*model.ListResourceResponse, error) {
		return b.c.tms.ListResource(&model.ListResourceRequest{Body: body})
	})
	if err != nil {
		return b.listFailed(err)
	}
	if reason := typeError(resp.Errors, b.typ); reason != "" {
		b.unavailable = apiListResource + " cannot list " + b.typ + ": " + reason
		return nil
	}
	page, err := b.page(resp)
	if err != nil {
		return err
	}
	b.cur.Offset += len(deref(resp.Resources))
	if len(deref(resp.Resources)) == 0 || (resp.TotalCount != nil && b.cur.Offset >= int(*resp.TotalCount)) {
		done()
	}
	b.cur.Emitted += len(page)
	return b.sink(page, b.cur)
}

// listFailed handles a refused ListResource call: the documented refusals
// change the strategy, the rest are the caller's.
func (b *bulk) listFailed(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.Kind == KindNoAPI:
		b.unavailable = ae.Error()
		return nil
	case ae.Kind == KindBadRequest && ae.Code == "TMS.0012" && b.cur.Phase == phaseAll:
		b.cur.Strategy = StrategyPerKey
		b.next(phaseKeys)
		return nil
	case ae.Kind == KindBadRequest && b.cur.Limit > BulkFallbackLimit:
		b.cur.Limit = BulkFallbackLimit // an older TMS: at most 200
		return nil
	}
	return err
}

// page converts an answer, keeping in the per-key phase only the resources
// whose first key (in ListTags order) is the key being listed, so that a
// resource with several keys is handed on once.
func (b *bulk) page(resp *model.ListResourceResponse) ([]TaggedResource, error) {
	res := deref(resp.Resources)
	if len(res) > 0 {
		sig := res[0].ResourceId + "|" + res[len(res)-1].ResourceId
		if b.cur.Offset > 0 && sig == b.cur.PrevPage {
			return nil, &APIError{
				API:  apiListResource,
				Kind: KindBadResponse,
				Message: fmt.Sprintf(
					"the page at offset %d repeats the previous one: TMS ignores offset",
					b.cur.Offset,
				),
			}
		}
		b.cur.PrevPage = sig
	}
	out := make([]TaggedResource, 0, len(res))
	for _, r := range res {
		if r.ResourceId == "" {
			return nil, &APIError{
				API:     apiListResource,
				Kind:    KindBadResponse,
				Message: "a resource without resource_id",
			}
		}
		if r.Tags == nil && b.cur.Phase != phaseUntagged {
			continue // no tags field: unknown, not "none"; read on its own later
		}
		tr := TaggedResource{ResourceID: r.ResourceId, Tags: map[string]string{}}
		for _, t := range deref(r.Tags) {
			tr.Tags[t.Key] = t.Value
		}
		if b.cur.Phase == phaseAll && len(tr.Tags) == 0 {
			b.cur.SawUntagged = true
		}
		if b.cur.Phase == phaseKeys && b.firstKey(tr.Tags) != b.cur.Key {
			continue
		}
		out = append(out, tr)
	}
	return out, nil
}

// typeError is the reason TMS gives in a 200 answer's errors[] for typ.
func typeError(errs *[]model.Errors, typ string) string {
	for _, e := range deref(errs) {
		if deref(e.ResourceType) == typ || deref(e.ResourceType) == "" {
			return fmt.Sprintf("%s %s", deref(e.ErrorCode), deref(e.ErrorMsg))
		}
	}
	return ""
}

// firstKey is the first of tags' keys in ListTags order ("" for none).
func (b *bulk) firstKey(tags map[string]string) string {
	for _, kv := range b.keys {
		if _, ok := tags[kv.key]; ok {
			return kv.key
		}
	}
	return ""
}

// chunk returns the values of the key being listed that the cursor's chunk
// covers.
func (kv keyValues) chunk(i int) []string {
	if len(kv.values) == 0 {
		return []string{}
	}
	return slices.Clone(kv.values[min(i*maxFilterValues, len(kv.values)):min((i+1)*maxFilterValues, len(kv.values))])
}

func (kv keyValues) chunks() int { return max(1, (len(kv.values)+maxFilterValues-1)/maxFilterValues) }
