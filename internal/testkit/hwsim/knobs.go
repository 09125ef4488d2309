package hwsim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Knobs are the fault-injection and behaviour settings; they can change
// while serving. In JSON, durations are Go duration strings ("20ms"). Each
// knob's doc says which real Huawei behaviour it plays (see docs/simulator.md).
type Knobs struct {
	Latency       time.Duration // fixed delay per request
	Jitter        time.Duration // plus uniform random [0, Jitter)
	BSSRate       float64       // requests/s on the BSS list API (burst max(1, rate)); 0 = unlimited
	TMSRate       float64       // same, shared by the TMS APIs
	ErrorRatio    float64       // fraction of authenticated requests answered 500
	ThrottleRatio float64       // fraction answered 429 APIGW.0308 at random
	SlowRatio     float64       // fraction answered only after SlowDelay
	SlowDelay     time.Duration
	// ForbiddenResourceIDs: TMS tag queries for these ids answer 403
	// TMS.0004. Not a real behaviour (Huawei authorizes tag reads per
	// service, resource type and enterprise project, never per resource:
	// see TMSDeniedTypes); kept for older tests.
	ForbiddenResourceIDs []string

	// BSS listing.

	// ListOrder is the order BSS lists matches in: ListOrderIndex (default),
	// ListOrderExpire, ListOrderExpireShuffled or ListOrderID. Huawei
	// documents none (plausible, not documented: neither the API page nor
	// the SDK says anything of the order).
	ListOrder string
	// ListFailFromOffset, when set, makes every BSS list request with an
	// offset >= *ListFailFromOffset fail with ListFailCode.
	ListFailFromOffset *int
	// ListFailCode is CBC.0100 (400, permanent; the default) or CBC.0999 (500).
	ListFailCode string
	// MalformedResourceIDs are listed with an unreadable expire_time,
	// NoIDResourceIDs without resource_id, PartialResourceIDs without status
	// and expire_policy, NoProjectResourceIDs without project_id.
	MalformedResourceIDs []string
	NoIDResourceIDs      []string
	PartialResourceIDs   []string
	NoProjectResourceIDs []string
	// Churn changes the dataset once, mid-listing.
	Churn *Churn
	// WrongSite ("", CBC.0150 or CBC.0156): every BSS request answers 403
	// with that code, as BSS does for an account of the other site.
	WrongSite string
	// BSSIPThrottleRatio: fraction of BSS requests answered 400 CBC.99007197
	// (BSS flow control by source IP).
	BSSIPThrottleRatio float64

	// BSS short answers, lookups by resource_ids and odd records.

	// MaxRecords, when > 0, caps every BSS answer at that many records (the
	// first ones of the asked offset/limit window) whatever limit asks;
	// total_count stays the full count. LookupMaxRecords does the same for
	// queries that carry resource_ids only. Plausible, not documented: the
	// SDK documents limit as the records per query ("每次查询的条数").
	MaxRecords       int
	LookupMaxRecords int
	// LookupNoIDResourceIDs and LookupMalformedResourceIDs are
	// NoIDResourceIDs and MalformedResourceIDs for answers to queries that
	// carry resource_ids only; a listing by window renders them normally.
	// Plausible, not documented.
	LookupNoIDResourceIDs      []string
	LookupMalformedResourceIDs []string
	// LongFieldResourceIDs are listed with over-long values: resource_name
	// 600 characters (Chinese among them, so more bytes than characters),
	// region_code, project_id, service_type_code, resource_type_code and
	// enterprise_project.id 80, resource_spec_code 200. Truth, Lookup and All
	// keep the real values. Plausible, not documented: no maximum length of
	// an OrderInstanceV2 field was found on Huawei's pages or in the SDK.
	LongFieldResourceIDs []string
	// OddIDResourceIDs are listed, and answered by id, with a resource_id no
	// client may put in a URL path or trust to a column: in turn one with a
	// "/", one with a "?", one with a "#" and one of 140 characters (see
	// oddID). Plausible, not documented (the SDK types resource_id as a bare
	// string).
	OddIDResourceIDs []string
	// EmptyPageOffsets: BSS listings (queries without resource_ids) at
	// exactly these offsets answer data: [] with the true total_count, the
	// first EmptyPageTimes times each offset is asked since the knob was set
	// (0: every time). Plausible, not documented.
	EmptyPageOffsets []int
	EmptyPageTimes   int
	// LookupRefused ("", CBC.0100 or CBC.0151): every BSS query that carries
	// resource_ids answers 400 CBC.0100 (invalid parameter) or 403 CBC.0151
	// (access denied) in BSS's flat error body. Both codes head the
	// status-code tables of Huawei's BSS API pages ("400 CBC.0100 参数错误。
	// 403 CBC.0151 访问拒绝。") and the team reference huawei-api.md; that BSS
	// refuses lookups by id is plausible, not documented.
	LookupRefused string
	// LookupIgnoresIDs: BSS ignores resource_ids and answers what the other
	// filters match. Plausible, not documented (the SDK documents
	// resource_ids as a filter).
	LookupIgnoresIDs bool

	// TMS.

	// TMSPermissionDenied: ShowResourceTag, ListResource and ListTags answer
	// 403 TMS.0004 (the account lacks the TMS permission); ListProviders,
	// which needs none under identity policies (its page: "当前API调用无需
	// 身份策略权限"), still answers.
	TMSPermissionDenied bool
	// TMSDeniedTypes: reading the tags of these TMS types is refused, 403
	// TMS.0004, as for an IAM user that holds tms:resourceTags:list but not
	// the owning service's permission: "To use resource tags, you must have
	// the corresponding permissions on the cloud service" (TMS User
	// Permissions, https://support.huaweicloud.com/intl/en-us/productdesc-tms/en-us_topic_0084940673.html).
	// An entry "type@<enterprise project id>" refuses only that type's
	// resources in that enterprise project, as ECS can ("This API supports
	// checking fine-grained permissions for enterprise projects",
	// https://support.huaweicloud.com/intl/en-us/api-ecs/ecs_02_1008.html).
	// ShowResourceTag answers 403 for such a resource; ListResource and
	// ListTags answer 403 when asked for a denied type at all. The message
	// names the type, the owning service's permission where a Huawei page
	// names it (ecs), and the enterprise project: plausible, not documented
	// (no page shows the text of such a refusal).
	TMSDeniedTypes []string
	// TMSProvidersRefused: ListProviders answers 403 TMS.0004, as for an
	// IAM user under role/policy authorization whose custom policy lacks
	// a TMS role (the ListProviders page, https://support.huaweicloud.com/api-tms/ListProviders.html:
	// under roles and policies see "权限和授权项"; only identity policies
	// need no permission for it).
	TMSProvidersRefused bool
	// TMSThrottle403Ratio: fraction of TMS requests answered 403 TMS.0006
	// "The request is too much, try again later" (TMS's own throttling).
	TMSThrottle403Ratio float64
	// BulkEmptyFilter is what ListResource does with an empty tag filter:
	// BulkAll (default) lists every resource, BulkTaggedOnly only tagged ones,
	// BulkRefused answers 400 TMS.0012, BulkMissing makes ListResource a
	// missing API (404 APIGW.0101) whatever the body.
	BulkEmptyFilter string
	// BulkMaxLimit is the largest ListResource limit accepted (400 TMS.0007
	// above it); 0 means 1000.
	BulkMaxLimit int
	// BulkOmitTotalCount: ListResource answers carry no total_count.
	BulkOmitTotalCount bool
	// UnservedTMSTypes are absent from ListProviders; ListResource reports
	// them in errors[] and ShowResourceTag refuses them (400 TMS.5027).
	UnservedTMSTypes []string
	// TagsFieldMissingResourceIDs: ShowResourceTag answers 200 with no tags
	// field for these ids, and ListResource lists them without one; the SDK
	// then decodes ShowResourceTagResponse.Tags and Resources.Tags as nil
	// pointers (SDK services/tms/v1/model/model_show_resource_tag_response.go
	// and model_resources.go: *[]…, omitempty). Plausible, not documented:
	// the ShowResourceTag page's response table has no mandatory column.
	TagsFieldMissingResourceIDs []string

	// Renewals (renew.go, orders.go).

	// RenewPriceFactor multiplies every renewal price (quotes and orders)
	// from the next request on, so that a price can rise between a quote
	// and its approval; 0 means 1. Plausible, not documented: prices
	// change (a promotion ends, a list price moves) and ListRenewRateOnPeriod
	// says nothing of how long a quote holds.
	RenewPriceFactor float64
	// RenewFailInAnswer: RenewalResources reports the resources it cannot
	// renew in fail_resource_infos with HTTP 200 and orders the others,
	// instead of refusing the whole call with 400 (CBC.30010036,
	// CBC.99003016, CBC.99003100, as its page's status-code table lists,
	// https://support.huaweicloud.com/api-oce/api_order_00018.html).
	// Plausible, not documented: the answer has the field, which the page
	// calls reserved ("该字段为预留字段").
	RenewFailInAnswer bool
	// OrderAnswerLost: the next N RenewalResources calls that place an
	// order lose their answer after the order is placed: 500 CBC.0999
	// (OrderAnswerLostMode "error", the default) or a connection closed
	// without an answer ("close"). Counted since the knob was set; changing
	// another knob keeps the count. Plausible, not documented: any write
	// can lose its answer, and RenewalResources has no idempotency token.
	OrderAnswerLost     int
	OrderAnswerLostMode string
	// OrderListLag: an order appears in ListCustomerOrders only this long
	// after it was placed (ShowCustomerOrderDetails and PayOrders know it
	// at once). Plausible, not documented: order listings are commonly
	// served from a replica.
	OrderListLag time.Duration
	// OrderPaymentWindow is how long an unpaid order waits for payment
	// before it is canceled (lapses); 0 means 7 days, the team reference's
	// "lapses by itself after about 7 days". ShowCustomerOrderDetails
	// answers the deadline as pending_payment_end_time (CustomerOrderV3).
	OrderPaymentWindow time.Duration
}

// OrderAnswerLostMode values.
const (
	OrderLostError = "error" // 500 CBC.0999 after the order is placed
	OrderLostClose = "close" // the connection is closed without an answer
)

// Limits of the renewal knobs.
const (
	MaxRenewPriceFactor   = 1000.0
	MaxOrderListLag       = time.Hour
	MaxOrderPaymentWindow = 366 * 24 * time.Hour
)

// ListOrder values.
const (
	ListOrderIndex  = "index"
	ListOrderExpire = "expire" // by expire_time, then by resource_id
	ListOrderID     = "id"
	// ListOrderExpireShuffled sorts by expire_time and puts records with
	// the same expire_time in a new random order on every call, so that
	// offset paging can skip or repeat them between pages.
	ListOrderExpireShuffled = "expire-shuffled"
)

// BulkEmptyFilter values.
const (
	BulkAll        = "all"
	BulkTaggedOnly = "tagged-only"
	BulkRefused    = "refused"
	BulkMissing    = "missing"
)

// Codes the knobs answer with.
const (
	CodeWrongSite      = "CBC.0150"
	CodeWrongSiteOther = "CBC.0156"
	CodeBSSParam       = codeBSSParam
	CodeBSSSystem      = codeBSSSystem
	CodeBSSDenied      = codeBSSDenied
)

// MaxBulkLimit is the largest ListResource limit the current TMS API page documents.
const MaxBulkLimit = 1000

// Churn is a one-time change of the dataset, applied right after the
// AfterRequests-th BSS list request counted from the moment the knob was set,
// so that a listing shifts mid-sync. Renew records with expire times in
// [Begin, End] are renewed past End (out of the window); Remove other records
// of the window are removed (released); Add new records get expire times in
// [AddBegin, AddEnd] (the window when both are zero).
type Churn struct {
	AfterRequests int       `json:"after_requests"`
	Begin         time.Time `json:"begin"`
	End           time.Time `json:"end"`
	Renew         int       `json:"renew"`
	Remove        int       `json:"remove"`
	Add           int       `json:"add"`
	AddBegin      time.Time `json:"add_begin,omitzero"`
	AddEnd        time.Time `json:"add_end,omitzero"`
}

// ChurnResult records what a Churn did, so that a test can compute the truth.
type ChurnResult struct {
	Applied      bool     `json:"applied"`
	AfterRequest int      `json:"after_request,omitempty"`
	Renewed      []string `json:"renewed"`
	Removed      []string `json:"removed"`
	Added        []string `json:"added"`
}

// Validate reports every out-of-range value, naming its JSON field.
func (k Knobs) Validate() error {
	v := &validator{}
	v.dur("latency", k.Latency, MaxLatency)
	v.dur("jitter", k.Jitter, MaxLatency)
	v.dur("slow_delay", k.SlowDelay, MaxSlowDelay)
	v.float("bss_rate", k.BSSRate, MaxRate)
	v.float("tms_rate", k.TMSRate, MaxRate)
	v.float("error_ratio", k.ErrorRatio, 1)
	v.float("throttle_ratio", k.ThrottleRatio, 1)
	v.float("slow_ratio", k.SlowRatio, 1)
	v.float("bss_ip_throttle_ratio", k.BSSIPThrottleRatio, 1)
	v.float("tms_throttle_403_ratio", k.TMSThrottle403Ratio, 1)
	v.ids("forbidden_resource_ids", k.ForbiddenResourceIDs)
	v.ids("malformed_resource_ids", k.MalformedResourceIDs)
	v.ids("no_id_resource_ids", k.NoIDResourceIDs)
	v.ids("partial_resource_ids", k.PartialResourceIDs)
	v.ids("no_project_resource_ids", k.NoProjectResourceIDs)
	v.ids("unserved_tms_types", k.UnservedTMSTypes)
	v.deniedTypes("tms_denied_types", k.TMSDeniedTypes)
	v.ids("lookup_no_id_resource_ids", k.LookupNoIDResourceIDs)
	v.ids("lookup_malformed_resource_ids", k.LookupMalformedResourceIDs)
	v.ids("long_field_resource_ids", k.LongFieldResourceIDs)
	v.ids("odd_id_resource_ids", k.OddIDResourceIDs)
	v.ids("tags_field_missing_resource_ids", k.TagsFieldMissingResourceIDs)
	v.oneOf("list_order", k.ListOrder, "", ListOrderIndex, ListOrderExpire, ListOrderExpireShuffled, ListOrderID)
	v.oneOf("list_fail_code", k.ListFailCode, "", CodeBSSParam, CodeBSSSystem)
	v.oneOf("wrong_site", k.WrongSite, "", CodeWrongSite, CodeWrongSiteOther)
	v.oneOf("lookup_refused", k.LookupRefused, "", CodeBSSParam, CodeBSSDenied)
	v.oneOf("bulk_empty_filter", k.BulkEmptyFilter, "", BulkAll, BulkTaggedOnly, BulkRefused, BulkMissing)
	v.count("max_records", k.MaxRecords, bssMaxLimit)
	v.count("lookup_max_records", k.LookupMaxRecords, bssMaxLimit)
	v.count("empty_page_times", k.EmptyPageTimes, math.MaxInt32)
	v.offsets("empty_page_offsets", k.EmptyPageOffsets)
	v.float("renew_price_factor", k.RenewPriceFactor, MaxRenewPriceFactor)
	v.count("order_answer_lost", k.OrderAnswerLost, math.MaxInt32)
	v.oneOf("order_answer_lost_mode", k.OrderAnswerLostMode, "", OrderLostError, OrderLostClose)
	v.dur("order_list_lag", k.OrderListLag, MaxOrderListLag)
	v.dur("order_payment_window", k.OrderPaymentWindow, MaxOrderPaymentWindow)
	if k.ListFailFromOffset != nil && *k.ListFailFromOffset < 0 {
		v.add("list_fail_from_offset %d must be >= 0 (or null/-1 in JSON to turn it off)", *k.ListFailFromOffset)
	}
	if k.BulkMaxLimit < 0 || k.BulkMaxLimit > MaxBulkLimit {
		v.add("bulk_max_limit %d out of range 0..%d (0 = %d)", k.BulkMaxLimit, MaxBulkLimit, MaxBulkLimit)
	}
	if k.Churn != nil {
		k.Churn.validate(v)
	}
	return errors.Join(v.errs...)
}

func (c *Churn) validate(v *validator) {
	if c.AfterRequests < 1 {
		v.add("churn.after_requests %d must be >= 1", c.AfterRequests)
	}
	if c.Begin.IsZero() || c.End.Before(c.Begin) {
		v.add("churn needs begin <= end, got %s..%s", c.Begin.Format(time.RFC3339), c.End.Format(time.RFC3339))
	}
	for name, n := range map[string]int{"renew": c.Renew, "remove": c.Remove, "add": c.Add} {
		if n < 0 || n > MaxResources {
			v.add("churn.%s %d out of range 0..%d", name, n, MaxResources)
		}
	}
	if c.AddBegin.IsZero() != c.AddEnd.IsZero() || c.AddEnd.Before(c.AddBegin) {
		v.add("churn.add_begin and churn.add_end must be both unset or an ordered pair")
	}
}

type validator struct{ errs []error }

func (v *validator) add(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("knobs: "+format, args...))
}

func (v *validator) dur(name string, d, maxD time.Duration) {
	if d < 0 || d > maxD {
		v.add("%s %s out of range 0..%s", name, d, maxD)
	}
}

func (v *validator) float(name string, f, maxV float64) {
	if math.IsNaN(f) || f < 0 || f > maxV {
		v.add("%s %v out of range 0..%v", name, f, maxV)
	}
}

func (v *validator) ids(name string, ids []string) {
	if len(ids) > MaxForbidden {
		v.add("%s has %d entries, at most %d allowed", name, len(ids), MaxForbidden)
	}
	if i := slices.Index(ids, ""); i >= 0 {
		v.add("%s[%d] is empty", name, i)
	}
}

// deniedTypes checks "type" or "type@enterprise project id" entries.
func (v *validator) deniedTypes(name string, entries []string) {
	v.ids(name, entries)
	for i, e := range entries {
		if t, ep, scoped := strings.Cut(e, "@"); !knownTMSTypes[t] || (scoped && ep == "") {
			v.add("%s[%d] %q is not a TMS type (e.g. ecs) or type@enterprise_project_id", name, i, e)
		}
	}
}

func (v *validator) count(name string, n, maxN int) {
	if n < 0 || n > maxN {
		v.add("%s %d out of range 0..%d", name, n, maxN)
	}
}

func (v *validator) offsets(name string, offsets []int) {
	if len(offsets) > MaxForbidden {
		v.add("%s has %d entries, at most %d allowed", name, len(offsets), MaxForbidden)
	}
	if i := slices.IndexFunc(offsets, func(o int) bool { return o < 0 }); i >= 0 {
		v.add("%s[%d] is %d, offsets must be >= 0", name, i, offsets[i])
	}
}

func (v *validator) oneOf(name, got string, allowed ...string) {
	if !slices.Contains(allowed, got) {
		v.add("%s %q is not one of %q", name, got, allowed[1:])
	}
}

func (k Knobs) clone() Knobs {
	k.ForbiddenResourceIDs = slices.Clone(k.ForbiddenResourceIDs)
	k.MalformedResourceIDs = slices.Clone(k.MalformedResourceIDs)
	k.NoIDResourceIDs = slices.Clone(k.NoIDResourceIDs)
	k.PartialResourceIDs = slices.Clone(k.PartialResourceIDs)
	k.NoProjectResourceIDs = slices.Clone(k.NoProjectResourceIDs)
	k.UnservedTMSTypes = slices.Clone(k.UnservedTMSTypes)
	k.TMSDeniedTypes = slices.Clone(k.TMSDeniedTypes)
	k.LookupNoIDResourceIDs = slices.Clone(k.LookupNoIDResourceIDs)
	k.LookupMalformedResourceIDs = slices.Clone(k.LookupMalformedResourceIDs)
	k.LongFieldResourceIDs = slices.Clone(k.LongFieldResourceIDs)
	k.OddIDResourceIDs = slices.Clone(k.OddIDResourceIDs)
	k.TagsFieldMissingResourceIDs = slices.Clone(k.TagsFieldMissingResourceIDs)
	k.EmptyPageOffsets = slices.Clone(k.EmptyPageOffsets)
	if k.ListFailFromOffset != nil {
		n := *k.ListFailFromOffset
		k.ListFailFromOffset = &n
	}
	if k.Churn != nil {
		c := *k.Churn
		k.Churn = &c
	}
	return k
}

func (k *Knobs) bulkMaxLimit() int {
	if k.BulkMaxLimit == 0 {
		return MaxBulkLimit
	}
	return k.BulkMaxLimit
}
