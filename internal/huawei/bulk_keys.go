package huawei

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
)

// keyStep lists one page of the per-key phase: the resources carrying the
// cursor's key with one of the values of its chunk. Exact values from
// ListTags are sent (10 per filter, the documented maximum) rather than an
// empty value list, whose meaning the ListResource page leaves open.
func (b *bulk) keyStep() error {
	if b.keys == nil {
		if err := b.loadKeys(); err != nil || b.unavailable != "" {
			return err
		}
	}
	i := b.keyIndex()
	if i == len(b.keys) {
		b.next(phaseUntagged)
		return nil
	}
	kv := b.keys[i]
	b.cur.Key = kv.key
	filter := []model.Tag{{Key: kv.key, Values: kv.chunk(b.cur.Chunk)}}
	return b.list(&model.ResqTagResource{Tags: filter}, func() { b.nextChunk(kv) })
}

// keyIndex is the position of the cursor's key in the sorted keys: the next
// key when the cursor's key is gone (tags changed between two attempts).
func (b *bulk) keyIndex() int {
	if b.cur.Key == "" {
		return 0
	}
	i, found := slices.BinarySearchFunc(
		b.keys,
		b.cur.Key,
		func(kv keyValues, k string) int { return strings.Compare(kv.key, k) },
	)
	if !found {
		b.cur.Chunk, b.cur.Offset, b.cur.PrevPage = 0, 0, ""
	}
	return i
}

// nextChunk moves past the query that just ended.
func (b *bulk) nextChunk(kv keyValues) {
	b.cur.Offset, b.cur.PrevPage = 0, ""
	if b.cur.Chunk+1 < kv.chunks() {
		b.cur.Chunk++
		return
	}
	b.cur.Chunk = 0
	i := b.keyIndex() + 1
	if i == len(b.keys) {
		b.next(phaseUntagged)
		return
	}
	b.cur.Key = b.keys[i].key
}

// loadKeys reads the project's tag keys and values for the type (ListTags,
// https://support.huaweicloud.com/api-tms/ListTags.html) and checks the cost
// of listing them against the caller's budget.
func (b *bulk) loadKeys() error {
	b.cur.Calls++
	resp, err := call(b.ctx, b.c.observer, b.c.tmsLimit, apiListTags, func() (*model.ListTagsResponse, error) {
		return b.c.tms.ListTags(&model.ListTagsRequest{
			ProjectId: b.project, ResourceTypes: b.typ, TagTypes: model.GetListTagsRequestTagTypesEnum().RESOURCE,
		})
	})
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Kind == KindNoAPI:
		b.unavailable = ae.Error()
		return nil
	case err != nil:
		return err
	}
	for _, e := range deref(resp.Errors) {
		if e.ResourceType == b.typ || e.ResourceType == "" {
			b.unavailable = fmt.Sprintf(
				"%s cannot list the tag keys of %s: %s %s",
				apiListTags,
				b.typ,
				e.ErrorCode,
				e.ErrorMsg,
			)
			return nil
		}
	}
	b.keys = make([]keyValues, 0, len(deref(resp.Tags)))
	cost := 1 // the untagged listing
	for _, t := range deref(resp.Tags) {
		kv := keyValues{key: t.Key, values: slices.Compact(slices.Sorted(slices.Values(t.Values)))}
		b.keys = append(b.keys, kv)
		cost += kv.chunks()
	}
	slices.SortFunc(b.keys, func(x, y keyValues) int { return strings.Compare(x.key, y.key) })
	b.keys = slices.CompactFunc(b.keys, func(x, y keyValues) bool { return x.key == y.key })
	if b.cur.Budget > 0 && b.cur.Key == "" && cost > b.cur.Budget {
		b.unavailable = fmt.Sprintf(
			"TMS refuses an empty tag filter and listing the %d tag keys of %s one by one "+
				"would take at least %d calls, more than the %d of reading the resources one by one",
			len(b.keys),
			b.typ,
			cost,
			b.cur.Budget,
		)
	}
	return nil
}
