package activities

import (
	"errors"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
)

// denials are the tag scopes TMS refused, by scope (contract.Denial). Tag
// reads need the owning service's permission besides TMS's, and ECS can
// authorize them per enterprise project, so a refusal covers its scope
// alone: the resources of other types (or projects) are still read.
type denials map[string]string

func newDenials(known []contract.Denial) denials {
	d := denials{}
	for _, k := range known {
		d[k.Scope] = k.Reason
	}
	return d
}

// of is the reason t's tags are known refused, "" when they are not.
func (d denials) of(hw *huawei.Client, t inventory.TagTarget) string {
	if len(d) == 0 {
		return ""
	}
	if r, ok := d[huawei.AllTags]; ok {
		return r
	}
	tmsType, ok := hw.TagTypeOf(t)
	if !ok {
		return ""
	}
	if r, ok := d[tmsType]; ok {
		return r
	}
	return d[huawei.TagScope(tmsType, t.EnterpriseProjectID)]
}

// met records the refusal err is, if it is one (a 403 that is not
// throttling), and returns it.
func (d denials) met(err error) (contract.Denial, bool) {
	var ae *huawei.APIError
	if !errors.As(err, &ae) || ae.Kind != huawei.KindForbidden {
		return contract.Denial{}, false
	}
	scope := ae.Scope
	if scope == "" {
		scope = huawei.AllTags // a refusal no tag read told the scope of
	}
	den := contract.Denial{Scope: scope, Reason: ae.Error()}
	d[scope] = den.Reason
	return den, true
}

// refused is the result of a resource whose tags TMS refused: an error
// that keeps its stored tags.
func refused(id, reason string) inventory.TagResult {
	return inventory.TagResult{ResourceID: id, Status: inventory.TagsError, Error: reason}
}
