// Package report lists the resources to renew: the inventory's rows that
// expire within a number of days from now, with their owners' tags. A
// Result prints as a table for people, and through the starter's printer
// as JSON, JSON lines or CSV with every stored field.
package report

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/store"
)

// Limits of a report.
const (
	MaxDays      = 3650
	DefaultLimit = 1000
	MaxLimit     = 100000
)

// Query is a validated report request.
type Query struct {
	// Days: resources expiring within this many days from now (the
	// already expired ones included).
	Days int
	// Limit caps the resources returned (1..MaxLimit).
	Limit int
	// Filter selects the resources; Run sets its ExpireBy and Limit.
	Filter store.ReportFilter
}

// Result is a report: its items in order, and what was asked.
type Result struct {
	Items []Item
	// More: more resources matched than Query.Limit.
	More     bool
	Query    Query
	ExpireBy time.Time
}

// Rows are what the machine formats print: the items.
func (r Result) Rows() any { return r.Items }

// PrintText writes the report's table.
func (r Result) PrintText(w io.Writer) error { return writeTable(w, r) }

// Run reads the report from s as of now.
func Run(ctx context.Context, s *store.Store, q Query, now time.Time) (Result, error) {
	now = now.UTC()
	res := Result{Query: q, ExpireBy: now.Add(time.Duration(q.Days) * 24 * time.Hour), Items: []Item{}}
	f := q.Filter
	f.ExpireBy = res.ExpireBy
	f.Limit = q.Limit + 1 // one more tells whether the limit cut the list
	rows, err := s.ExpiringWithin(ctx, f)
	if err != nil {
		return res, err
	}
	if res.More = len(rows) > q.Limit; res.More {
		rows = rows[:q.Limit]
	}
	if err := s.AttachDecisions(ctx, rows); err != nil {
		return res, err
	}
	for _, row := range rows {
		res.Items = append(res.Items, NewItem(row, now))
	}
	return res, nil
}

// Item is one reported resource: every stored field, plus the days left
// and the status and expire policy in words. Its JSON names are the
// report's columns, in this order.
type Item struct {
	ExpireTime          time.Time         `json:"expire_time" doc:"when it expires (UTC)"`
	DaysLeft            int               `json:"days_left" doc:"whole days from now to expire_time, rounded down: 0 within 24 hours, negative once expired"`
	ResourceID          string            `json:"resource_id"`
	ResourceName        string            `json:"resource_name"`
	ServiceTypeCode     string            `json:"service_type_code" doc:"e.g. hws.service.type.ec2"`
	ResourceTypeCode    string            `json:"resource_type_code" doc:"e.g. hws.resource.type.vm"`
	ResourceSpecCode    string            `json:"resource_spec_code"`
	RegionCode          string            `json:"region_code"`
	ProjectID           string            `json:"project_id"`
	EnterpriseProjectID string            `json:"enterprise_project_id"`
	Status              *int              `json:"status" doc:"BSS status: 2 in use, 3 closed, 4 frozen, 5 expired; null when BSS did not say"`
	StatusText          string            `json:"status_text" doc:"status in words"`
	ExpirePolicy        *int              `json:"expire_policy" doc:"what BSS does at expiry: 0 grace period, 1 to pay-per-use, 2 auto-delete, 3 auto-renew, 4 freeze, 5 delete from retention; null when BSS did not say"`
	ExpirePolicyText    string            `json:"expire_policy_text" doc:"expire_policy in words"`
	Tags                map[string]string `json:"tags" doc:"the resource's tags; {} none, null unknown (see tag_status)"`
	TagStatus           string            `json:"tag_status" doc:"ok, unsupported (type without tags), not_found (vanished) or error"`
	TagError            string            `json:"tag_error" doc:"why the tags could not be read"`
	IsActive            bool              `json:"is_active" doc:"false once a completed sync found, by id, that BSS closed or no longer lists it"`
	IsMainResource      bool              `json:"is_main_resource"`
	ParentResourceID    string            `json:"parent_resource_id"`
	EffectiveTime       *time.Time        `json:"effective_time"`
	CutFields           string            `json:"cut_fields" doc:"BSS fields longer than their columns, stored cut (comma-separated); empty when every value fit"`
	AccountID           string            `json:"account_id" doc:"the account's domain id (HUAWEI_DOMAIN_ID, or the accounts file's domain_id or customer_id)"`
	AccountName         string            `json:"account_name" doc:"the account's name in the workers' accounts file; default for the HUAWEI_* account"`
	CloudProvider       string            `json:"cloud_provider"`
	FirstSeenAt         time.Time         `json:"first_seen_at"`
	LastSyncedAt        time.Time         `json:"last_synced_at"`
	LastSyncID          string            `json:"last_sync_id" doc:"the sync that last wrote it"`
	ID                  uint64            `json:"id" doc:"the row's id in expiring_resources"`
	Decision            string            `json:"decision" doc:"what was decided about it: its renewal request and the request's state (renew pending (<request id>)), renewed until <date>, or lapse: <reason> (let its current expiry lapse); empty when nothing was"`
	DecisionRequestID   string            `json:"decision_request_id" doc:"the renewal request the decision names (starter renew status <id>); empty when none"`
}

// NewItem reports a stored resource as of now.
func NewItem(r store.ExpiringResource, now time.Time) Item {
	it := Item{
		ExpireTime: r.ExpireTime.UTC(), DaysLeft: DaysLeft(r.ExpireTime, now),
		ResourceID: r.ResourceID, ResourceName: r.ResourceName,
		ServiceTypeCode: r.ServiceTypeCode, ResourceTypeCode: r.ResourceTypeCode, ResourceSpecCode: r.ResourceSpecCode,
		RegionCode: r.RegionCode, ProjectID: r.ProjectID, EnterpriseProjectID: r.EnterpriseProjectID,
		Status: r.Status, StatusText: StatusText(r.Status),
		ExpirePolicy: r.ExpirePolicy, ExpirePolicyText: PolicyText(r.ExpirePolicy),
		Tags: r.Tags, TagStatus: r.TagStatus, TagError: r.TagError,
		IsActive: r.IsActive, IsMainResource: r.IsMainResource, ParentResourceID: r.ParentResourceID,
		CutFields: r.CutFields,
		AccountID: r.AccountID, AccountName: r.AccountName, CloudProvider: r.CloudProvider,
		FirstSeenAt: r.FirstSeenAt.UTC(), LastSyncedAt: r.LastSyncedAt.UTC(), LastSyncID: r.LastSyncID, ID: r.ID,
	}
	if r.EffectiveTime != nil {
		t := r.EffectiveTime.UTC()
		it.EffectiveTime = &t
	}
	it.Decision, it.DecisionRequestID = DecisionText(r.Decision, r.ExpireTime)
	return it
}

// DecisionText says what was decided about a resource expiring at expire,
// and the renewal request it names: an open request and its state first
// ("renew pending (<id>)"), then a decision to let this expiry lapse
// ("lapse: <reason>"), then a request that renewed it to at least this
// expiry ("renewed until 2027-12-07"), then the latest request that ended
// otherwise ("renew rejected (<id>)"). d nil: nothing was decided.
func DecisionText(d *store.Decision, expire time.Time) (text, requestID string) {
	switch {
	case d == nil:
		return "", ""
	case d.Open():
		return fmt.Sprintf("%s %s (%s)", d.Kind, d.State, d.RequestID), d.RequestID
	case d.Lapse != nil:
		if d.Lapse.Reason == "" {
			return "lapse", d.Lapse.RequestID
		}
		return "lapse: " + d.Lapse.Reason, d.Lapse.RequestID
	case d.RequestID == "":
		return "", ""
	case d.State == contract.RenewDone && d.Kind == contract.RenewKindRenew && !d.NewExpiry.IsZero() &&
		!d.NewExpiry.Before(expire.UTC()):
		return "renewed until " + d.NewExpiry.UTC().Format(time.DateOnly), d.RequestID
	}
	return fmt.Sprintf("%s %s (%s)", d.Kind, d.State, d.RequestID), d.RequestID
}

// DaysLeft counts whole days from now to expire, rounding down: 0 expires
// within 24 hours, -1 expired within the last 24 hours.
func DaysLeft(expire, now time.Time) int {
	return int(math.Floor(expire.Sub(now).Hours() / 24))
}

// StatusText names a BSS resource status; nil is unknown.
func StatusText(p *int) string {
	if p == nil {
		return "unknown"
	}
	switch s := *p; s {
	case 2:
		return "in use"
	case 3:
		return "closed"
	case 4:
		return "frozen"
	case 5:
		return "expired"
	default:
		return "status " + strconv.Itoa(s)
	}
}

// PolicyText names what BSS does at expiry (OrderInstanceV2.expire_policy);
// nil is unknown.
func PolicyText(pp *int) string {
	if pp == nil {
		return "unknown"
	}
	switch p := *pp; p {
	case 0:
		return "grace period"
	case 1:
		return "to pay-per-use"
	case 2:
		return "auto-delete"
	case 3:
		return "auto-renew"
	case 4:
		return "freeze"
	case 5:
		return "delete from retention"
	default:
		return "policy " + strconv.Itoa(p)
	}
}

// The services a report names and filters on are the catalog's.
var (
	// serviceAliases maps each name a report accepts to its BSS code.
	serviceAliases = map[string]string{}
	// serviceNames is how the table names the services it knows.
	serviceNames = map[string]string{}
	// Services are the services' names, for help and completion.
	Services []string
	// AllowedServices says what ServiceCode accepts.
	AllowedServices string
)

func init() {
	var allowed []string
	for _, svc := range catalog.Default().Services() {
		serviceNames[svc.Code] = svc.Name
		Services = append(Services, svc.Name)
		word := svc.Name
		for _, name := range append([]string{svc.Name}, svc.Aliases...) {
			serviceAliases[name] = svc.Code
		}
		if len(svc.Aliases) > 0 {
			word += " (or " + strings.Join(svc.Aliases, ", ") + ")"
		}
		allowed = append(allowed, word)
	}
	AllowedServices = strings.Join(allowed, ", ") + ", or a full code such as " + catalog.ServiceECS
}

const servicePrefix = "hws.service.type."

// ServiceCode maps a service name or code to a BSS service type code; ""
// is any service.
func ServiceCode(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if code, ok := serviceAliases[strings.ToLower(v)]; ok {
		return code, true
	}
	name, ok := strings.CutPrefix(v, servicePrefix)
	return v, ok && name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
}
