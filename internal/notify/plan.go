package notify

import (
	"path"
	"slices"
	"time"

	"expiry-sync/internal/store"
)

// AutoRenewPolicy is BSS's expire_policy of resources that renew by
// themselves: they are reminded only when a route asks for them.
const AutoRenewPolicy = 3

// Pending is what a route has to send for one threshold.
type Pending struct {
	Route     *Route
	Threshold int
	Items     []Item
}

// Claims are the pending items with the channels that still owe them.
func (p Pending) Claims() []store.ClaimItem {
	out := make([]store.ClaimItem, len(p.Items))
	for i, it := range p.Items {
		out[i] = store.ClaimItem{
			Key:      store.NotifyKey{ResourceID: it.ResourceID, ExpireTime: it.ExpireTime, ThresholdDays: p.Threshold},
			Channels: it.Channels,
		}
	}
	return out
}

// owing lists the route's channels that no claim covers yet (claimed: the
// channels a key is claimed on; store.AllChannels covers all).
func (r *Route) owing(claimed []string) []string {
	if slices.Contains(claimed, store.AllChannels) {
		return nil
	}
	var out []string
	for _, ch := range r.Channels {
		if !slices.Contains(claimed, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Owner names a resource's owner from its tags: the value of the first of
// OwnerKeys it carries with a non-empty value ("" when none).
func (c *Config) Owner(tags store.Tags) string {
	for _, k := range c.OwnerKeys {
		if v := tags[k]; v != "" {
			return v
		}
	}
	return ""
}

// RouteFor picks the first route naming or matching the owner, else the
// default route.
func (c *Config) RouteFor(owner string) *Route {
	if owner != "" {
		for _, r := range c.Routes {
			if r.matches(owner) {
				return r
			}
		}
	}
	return c.Route(c.DefaultRoute)
}

func (r *Route) matches(owner string) bool {
	if slices.Contains(r.Owners, owner) {
		return true
	}
	for _, m := range r.Match {
		if ok, _ := path.Match(m, owner); ok {
			return true
		}
	}
	return false
}

// Threshold is the tightest of a route's thresholds a resource expiring at
// expire falls in at asOf: Overdue once expired, else the fewest days that
// still cover it. false when it is outside all of them.
func (r *Route) Threshold(expire, asOf time.Time) (int, bool) {
	if expire.Before(asOf) {
		return Overdue, slices.Contains(r.Thresholds, Overdue)
	}
	for _, t := range r.Thresholds { // ascending
		if t != Overdue && !expire.After(asOf.Add(time.Duration(t)*24*time.Hour)) {
			return t, true
		}
	}
	return 0, false
}

// Horizon is the latest expire time any route reminds at asOf.
func (c *Config) Horizon(asOf time.Time) time.Time {
	most := 0
	for _, r := range c.Routes {
		most = max(most, slices.Max(r.Thresholds))
	}
	return asOf.Add(time.Duration(most) * 24 * time.Hour)
}

// Plan sorts the candidates into what each route has to send per
// threshold at asOf, on the channels that still owe it (notified: the
// channels each key is already claimed or delivered on), leaving out resources
// that renew automatically (unless the route asks for them), and routes not
// in only (when only is not empty). Routes come in file order, thresholds
// from the most urgent.
func (c *Config) Plan(
	rows []store.ExpiringResource,
	notified map[store.NotifyKey][]string,
	asOf time.Time,
	only []string,
) []Pending {
	type slot struct {
		route     *Route
		threshold int
	}
	items := map[slot][]Item{}
	for _, row := range rows {
		owner := c.Owner(row.Tags)
		r := c.RouteFor(owner)
		if len(only) > 0 && !slices.Contains(only, r.Name) {
			continue
		}
		// An unknown policy (NULL) is reminded: better one reminder too many.
		if row.ExpirePolicy != nil && *row.ExpirePolicy == AutoRenewPolicy && !*r.IncludeAutoRenew {
			continue
		}
		t, ok := r.Threshold(row.ExpireTime, asOf)
		if !ok {
			continue
		}
		owing := r.owing(
			notified[store.NotifyKey{ResourceID: row.ResourceID, ExpireTime: row.ExpireTime.UTC(), ThresholdDays: t}],
		)
		if len(owing) == 0 {
			continue
		}
		k := slot{r, t}
		it := NewItem(row, owner, asOf)
		it.Channels = owing
		items[k] = append(items[k], it)
	}
	var out []Pending
	for _, r := range c.Routes {
		for _, t := range r.Thresholds {
			if its := items[slot{r, t}]; len(its) > 0 {
				out = append(out, Pending{Route: r, Threshold: t, Items: its})
			}
		}
	}
	return out
}
