package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/spf13/cobra"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/store"
)

// Limits of the report's flags.
const (
	reportMaxDays      = 3650
	reportDefaultLimit = 1000
	reportMaxLimit     = 100000
)

// reportClock is the report's "now"; tests pin it.
var reportClock = time.Now

// reportServiceAliases maps the short names --service accepts to BSS codes.
var reportServiceAliases = map[string]string{
	"ecs": catalog.ServiceECS, "ec2": catalog.ServiceECS,
	"evs": catalog.ServiceEVS, "ebs": catalog.ServiceEVS,
	"vpc": catalog.ServiceVPC,
	"rds": catalog.ServiceRDS,
	"dcs": catalog.ServiceDCS,
}

// reportServiceNames is how the table names the services it knows.
var reportServiceNames = map[string]string{
	catalog.ServiceECS: "ecs", catalog.ServiceEVS: "evs", catalog.ServiceVPC: "vpc",
	catalog.ServiceRDS: "rds", catalog.ServiceDCS: "dcs",
}

const (
	reportServicePrefix      = "hws.service.type."
	reportResourceTypePrefix = "hws.resource.type."
	reportAllowedServices    = "ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2"
	reportAllowedTag         = "key=value, or key= for an empty value"
)

var reportFormats = []string{"table", "csv", "json"}

type reportOptions struct {
	withinDays      reportInt
	limit           reportInt
	format          string
	service         string
	region          string
	project         string
	tags            []string
	includeInactive bool
	sort            string
}

// reportInt is an int flag read as typed, so that a bad value is reported by
// the command in its own words (flag, value, what is allowed).
type reportInt struct{ raw string }

func (r *reportInt) String() string     { return r.raw }
func (r *reportInt) Set(v string) error { r.raw = v; return nil }
func (r *reportInt) Type() string       { return "int" }

func newReportCommand(e *env) *cobra.Command {
	o := &reportOptions{limit: reportInt{strconv.Itoa(reportDefaultLimit)}}
	cmd := &cobra.Command{
		Use:   "report --within-days N",
		Short: "List the resources to renew: those expiring within --within-days, with their owners' tags",
		Long: `report lists the yearly/monthly resources of the inventory that expire within
--within-days from now, including the already expired but still active ones
(negative DAYS LEFT, the most urgent: the default order puts them first). It reads
the worker's database, DATABASE_URL (unset: sqlite://expiry-sync.db), and never
writes to it: run a sync first.

Filters combine with AND. --tag key=value matches tags exactly (case, spaces,
quotes, %, _ and backslashes are plain characters); --tag key= matches a tag whose
value is empty. The key is everything before the first '='.

Formats: table (for people and logs), csv (every field, tags as one JSON column),
json (an array of objects with every stored field, tags as an object).`,
		Example: `  # What must be renewed this week
  starter report --within-days 7

  # The production ECS servers of one project expiring within 30 days, soonest first
  starter report --within-days 30 --service ecs --project 0a1b2c3d4e5f40718293a4b5c6d7e8f9 --tag env=prod

  # Everything expiring within 90 days in cn-north-4, for a spreadsheet
  starter report --within-days 90 --region cn-north-4 --format csv > expiring.csv

  # Tags with any characters; --tag owner= finds an owner tag left empty
  starter report --within-days 14 --tag 负责人=张三 --tag 'cost-center=研发部-成本中心' --format json
  starter report --within-days 14 --tag owner= --include-inactive --sort name`,
		Args: cobra.NoArgs,
		// The report needs no Temporal settings: skip the root's check.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE:              func(cmd *cobra.Command, _ []string) error { return e.runReport(cmd, o) },
	}
	f := cmd.Flags()
	f.Var(&o.withinDays, "within-days", fmt.Sprintf("report resources expiring within this many days from now, expired ones included (1..%d, required)", reportMaxDays))
	f.StringVar(&o.format, "format", "table", "output format: "+strings.Join(reportFormats, ", "))
	f.StringVar(&o.service, "service", "", "only this service: "+reportAllowedServices)
	f.StringVar(&o.region, "region", "", "only this region code, e.g. cn-north-4")
	f.StringVar(&o.project, "project", "", "only this project id")
	f.StringArrayVar(&o.tags, "tag", nil, "only resources with this tag, as key=value (key= for an empty value); repeat: all must match")
	f.BoolVar(&o.includeInactive, "include-inactive", false, "also report resources the last sync no longer saw")
	f.StringVar(&o.sort, "sort", string(store.SortExpire), "order: "+reportSortNames(", ")+" (then expire time and resource id)")
	f.Var(&o.limit, "limit", fmt.Sprintf("print at most this many resources (1..%d)", reportMaxLimit))
	return cmd
}

func reportSortNames(sep string) string {
	var names []string
	for _, s := range store.ReportSorts() {
		names = append(names, string(s))
	}
	return strings.Join(names, sep)
}

// reportRequest is the validated form of the flags.
type reportRequest struct {
	days   int
	limit  int
	format string
	filter store.ReportFilter
}

// validate checks every flag before the database is touched; the errors are
// bad input (exit 2), one line naming the flag, the value and what is allowed.
func (o *reportOptions) validate(cmd *cobra.Command) (reportRequest, error) {
	var req reportRequest
	if !cmd.Flags().Changed("within-days") {
		return req, fmt.Errorf("--within-days is required: allowed 1..%d (days from now)", reportMaxDays)
	}
	var err error
	if req.days, err = reportParseRange("within-days", o.withinDays.raw, 1, reportMaxDays); err != nil {
		return req, err
	}
	req.format = strings.ToLower(o.format)
	if !slices.Contains(reportFormats, req.format) {
		return req, fmt.Errorf("--format=%s is not allowed: allowed %s", reportQuote(o.format), strings.Join(reportFormats, ", "))
	}
	sort := store.ReportSort(strings.ToLower(o.sort))
	if !slices.Contains(store.ReportSorts(), sort) {
		return req, fmt.Errorf("--sort=%s is not allowed: allowed %s", reportQuote(o.sort), reportSortNames(", "))
	}
	if req.limit, err = reportParseRange("limit", o.limit.raw, 1, reportMaxLimit); err != nil {
		return req, err
	}
	service, err := reportServiceCode(o.service)
	if err != nil {
		return req, err
	}
	tags := make([]store.TagMatch, 0, len(o.tags))
	for _, t := range o.tags {
		key, value, ok := strings.Cut(t, "=")
		switch {
		case !ok:
			return req, fmt.Errorf("--tag=%s has no '=': allowed %s", reportQuote(t), reportAllowedTag)
		case key == "":
			return req, fmt.Errorf("--tag=%s has an empty key: allowed %s", reportQuote(t), reportAllowedTag)
		}
		tags = append(tags, store.TagMatch{Key: key, Value: value})
	}
	req.filter = store.ReportFilter{
		IncludeInactive: o.includeInactive,
		ServiceTypeCode: service,
		RegionCode:      o.region,
		ProjectID:       o.project,
		Tags:            tags,
		Sort:            sort,
		Limit:           req.limit + 1, // one more tells whether the limit cut the list
	}
	return req, nil
}

func reportParseRange(flag, raw string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("--%s=%s is out of range: allowed %d..%d", flag, reportQuote(raw), lo, hi)
		}
		return 0, fmt.Errorf("--%s=%s is not a whole number: allowed %d..%d", flag, reportQuote(raw), lo, hi)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("--%s=%d is out of range: allowed %d..%d", flag, n, lo, hi)
	}
	return n, nil
}

// reportServiceCode maps --service to a BSS service type code ("" for any).
func reportServiceCode(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if code, ok := reportServiceAliases[strings.ToLower(v)]; ok {
		return code, nil
	}
	if name, ok := strings.CutPrefix(v, reportServicePrefix); ok && name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		return v, nil
	}
	return "", fmt.Errorf("--service=%s is not allowed: allowed %s", reportQuote(v), reportAllowedServices)
}

// reportQuote quotes a flag value when printing it bare could mislead: empty,
// or holding spaces, quotes or control characters (which would also break
// the one-line message).
func reportQuote(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' }) {
		return strconv.Quote(v)
	}
	return v
}

func (e *env) runReport(cmd *cobra.Command, o *reportOptions) error {
	req, err := o.validate(cmd)
	if err != nil {
		return err
	}
	dbURL := os.Getenv("DATABASE_URL")
	if err := store.CheckURL(dbURL); err != nil {
		return err // a malformed DATABASE_URL is a bad setting
	}
	name := reportDatabaseName(dbURL)
	if path, missing := store.MissingSQLiteFile(dbURL); missing {
		return fail(fmt.Errorf("database %s has no expiry-sync tables (the file %s does not exist): start the worker once with this DATABASE_URL to create them, then run a sync", name, path))
	}
	ctx := cmd.Context()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		return fail(errors.New(reportOneLine(err.Error())))
	}
	defer s.Close()

	now := reportClock().UTC()
	req.filter.ExpireBy = now.Add(time.Duration(req.days) * 24 * time.Hour)
	rows, err := s.ExpiringWithin(ctx, req.filter)
	switch {
	case errors.Is(err, store.ErrNoTables):
		return fail(fmt.Errorf("database %s has no expiry-sync tables: start the worker once with this DATABASE_URL to create them, then run a sync", name))
	case err != nil:
		return fail(fmt.Errorf("reading database %s: %s", name, reportOneLine(err.Error())))
	}
	more := len(rows) > req.limit
	if more {
		rows = rows[:req.limit]
	}
	items := make([]reportItem, len(rows))
	for i, r := range rows {
		items[i] = newReportItem(r, now)
	}
	var out bytes.Buffer
	switch req.format {
	case "json":
		err = writeReportJSON(&out, items)
	case "csv":
		err = writeReportCSV(&out, items)
	default:
		writeReportTable(&out, items, req, more)
	}
	if err != nil {
		return fail(err)
	}
	if _, err := e.stdout.Write(out.Bytes()); err != nil {
		return fail(fmt.Errorf("writing the report: %v", err))
	}
	if more {
		fmt.Fprintf(e.stderr, "note: more than %d resources match; only the first %d are shown (raise --limit, up to %d)\n", req.limit, req.limit, reportMaxLimit)
	}
	return nil
}

// reportDatabaseName names DATABASE_URL in messages, password hidden.
func reportDatabaseName(dbURL string) string {
	if dbURL == "" {
		return "sqlite://" + store.DefaultSQLiteFile + " (DATABASE_URL is unset)"
	}
	return store.Redact(dbURL)
}

func reportOneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")), " ")
}

// reportItem is one reported resource: every stored field, plus the days
// left and the status and expire policy in words.
type reportItem struct {
	ExpireTime          time.Time         `json:"expire_time"`
	DaysLeft            int               `json:"days_left"`
	ResourceID          string            `json:"resource_id"`
	ResourceName        string            `json:"resource_name"`
	ServiceTypeCode     string            `json:"service_type_code"`
	ResourceTypeCode    string            `json:"resource_type_code"`
	ResourceSpecCode    string            `json:"resource_spec_code"`
	RegionCode          string            `json:"region_code"`
	ProjectID           string            `json:"project_id"`
	EnterpriseProjectID string            `json:"enterprise_project_id"`
	Status              *int              `json:"status"` // null: BSS did not say
	StatusText          string            `json:"status_text"`
	ExpirePolicy        *int              `json:"expire_policy"` // null: BSS did not say
	ExpirePolicyText    string            `json:"expire_policy_text"`
	Tags                map[string]string `json:"tags"` // null: unknown (see tag_status)
	TagStatus           string            `json:"tag_status"`
	TagError            string            `json:"tag_error"`
	IsActive            bool              `json:"is_active"`
	IsMainResource      bool              `json:"is_main_resource"`
	ParentResourceID    string            `json:"parent_resource_id"`
	EffectiveTime       *time.Time        `json:"effective_time"`
	AccountID           string            `json:"account_id"`
	CloudProvider       string            `json:"cloud_provider"`
	FirstSeenAt         time.Time         `json:"first_seen_at"`
	LastSyncedAt        time.Time         `json:"last_synced_at"`
	LastSyncID          string            `json:"last_sync_id"`
	ID                  uint64            `json:"id"`
}

func newReportItem(r store.ExpiringResource, now time.Time) reportItem {
	it := reportItem{
		ExpireTime: r.ExpireTime.UTC(), DaysLeft: reportDaysLeft(r.ExpireTime, now),
		ResourceID: r.ResourceID, ResourceName: r.ResourceName,
		ServiceTypeCode: r.ServiceTypeCode, ResourceTypeCode: r.ResourceTypeCode, ResourceSpecCode: r.ResourceSpecCode,
		RegionCode: r.RegionCode, ProjectID: r.ProjectID, EnterpriseProjectID: r.EnterpriseProjectID,
		Status: r.Status, StatusText: reportStatusText(r.Status),
		ExpirePolicy: r.ExpirePolicy, ExpirePolicyText: reportPolicyText(r.ExpirePolicy),
		Tags: r.Tags, TagStatus: r.TagStatus, TagError: r.TagError,
		IsActive: r.IsActive, IsMainResource: r.IsMainResource, ParentResourceID: r.ParentResourceID,
		AccountID: r.AccountID, CloudProvider: r.CloudProvider,
		FirstSeenAt: r.FirstSeenAt.UTC(), LastSyncedAt: r.LastSyncedAt.UTC(), LastSyncID: r.LastSyncID, ID: r.ID,
	}
	if r.EffectiveTime != nil {
		t := r.EffectiveTime.UTC()
		it.EffectiveTime = &t
	}
	return it
}

// reportDaysLeft counts whole days from now to expire, rounding down: 0 expires
// within 24 hours, -1 expired within the last 24 hours.
func reportDaysLeft(expire, now time.Time) int {
	return int(math.Floor(expire.Sub(now).Hours() / 24))
}

// reportStatusText names a BSS resource status.
func reportStatusText(p *int) string {
	if p == nil {
		return "unknown"
	}
	s := *p
	switch s {
	case 2:
		return "in use"
	case 3:
		return "closed"
	case 4:
		return "frozen"
	case 5:
		return "expired"
	}
	return "status " + strconv.Itoa(s)
}

// reportPolicyText names what BSS does at expiry (OrderInstanceV2.expire_policy).
func reportPolicyText(pp *int) string {
	if pp == nil {
		return "unknown"
	}
	p := *pp
	switch p {
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
	}
	return "policy " + strconv.Itoa(p)
}

func writeReportJSON(w io.Writer, items []reportItem) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(items)
}

const reportCSVTime = time.RFC3339

// reportCSVColumns are the CSV columns, named and ordered as the JSON keys.
var reportCSVColumns = []struct {
	name  string
	value func(reportItem) string
}{
	{"expire_time", func(it reportItem) string { return it.ExpireTime.Format(reportCSVTime) }},
	{"days_left", func(it reportItem) string { return strconv.Itoa(it.DaysLeft) }},
	{"resource_id", func(it reportItem) string { return it.ResourceID }},
	{"resource_name", func(it reportItem) string { return it.ResourceName }},
	{"service_type_code", func(it reportItem) string { return it.ServiceTypeCode }},
	{"resource_type_code", func(it reportItem) string { return it.ResourceTypeCode }},
	{"resource_spec_code", func(it reportItem) string { return it.ResourceSpecCode }},
	{"region_code", func(it reportItem) string { return it.RegionCode }},
	{"project_id", func(it reportItem) string { return it.ProjectID }},
	{"enterprise_project_id", func(it reportItem) string { return it.EnterpriseProjectID }},
	{"status", func(it reportItem) string { return optInt(it.Status) }},
	{"status_text", func(it reportItem) string { return it.StatusText }},
	{"expire_policy", func(it reportItem) string { return optInt(it.ExpirePolicy) }},
	{"expire_policy_text", func(it reportItem) string { return it.ExpirePolicyText }},
	{"tags", func(it reportItem) string { return reportTagsJSON(it.Tags) }},
	{"tag_status", func(it reportItem) string { return it.TagStatus }},
	{"tag_error", func(it reportItem) string { return it.TagError }},
	{"is_active", func(it reportItem) string { return strconv.FormatBool(it.IsActive) }},
	{"is_main_resource", func(it reportItem) string { return strconv.FormatBool(it.IsMainResource) }},
	{"parent_resource_id", func(it reportItem) string { return it.ParentResourceID }},
	{"effective_time", func(it reportItem) string {
		if it.EffectiveTime == nil {
			return ""
		}
		return it.EffectiveTime.Format(reportCSVTime)
	}},
	{"account_id", func(it reportItem) string { return it.AccountID }},
	{"cloud_provider", func(it reportItem) string { return it.CloudProvider }},
	{"first_seen_at", func(it reportItem) string { return it.FirstSeenAt.Format(reportCSVTime) }},
	{"last_synced_at", func(it reportItem) string { return it.LastSyncedAt.Format(reportCSVTime) }},
	{"last_sync_id", func(it reportItem) string { return it.LastSyncID }},
	{"id", func(it reportItem) string { return strconv.FormatUint(it.ID, 10) }},
}

// reportTagsJSON is the tags column of the CSV: a JSON object with sorted keys,
// "" when the tags are unknown.
func reportTagsJSON(tags map[string]string) string {
	if tags == nil {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(tags) // a map of strings always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func writeReportCSV(w io.Writer, items []reportItem) error {
	cw := csv.NewWriter(w)
	record := make([]string, len(reportCSVColumns))
	for i, c := range reportCSVColumns {
		record[i] = c.name
	}
	if err := cw.Write(record); err != nil {
		return err
	}
	for _, it := range items {
		for i, c := range reportCSVColumns {
			record[i] = c.value(it)
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Widths the table cuts long names and tag lists at, in terminal columns.
const (
	reportNameWidth = 40
	reportTagsWidth = 50
)

func writeReportTable(w io.Writer, items []reportItem, req reportRequest, more bool) {
	t := newTable(w)
	t.Style().Format.Footer = text.FormatDefault
	t.Style().Options.DoNotRenderSeparatorWhenEmpty = true
	t.AppendHeader(table.Row{"EXPIRES (UTC)", "DAYS LEFT", "RESOURCE", "SERVICE", "TYPE", "REGION", "PROJECT", "STATUS", "EXPIRE POLICY", "TAGS"})
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 2, Align: text.AlignRight}})
	for _, it := range items {
		t.AppendRow(table.Row{
			it.ExpireTime.Format(time.DateTime),
			it.DaysLeft,
			reportResourceCell(it),
			reportServiceCell(it.ServiceTypeCode),
			reportCell(strings.TrimPrefix(it.ResourceTypeCode, reportResourceTypePrefix)),
			reportCell(it.RegionCode),
			reportCell(it.ProjectID),
			it.StatusText,
			it.ExpirePolicyText,
			reportTagsCell(it),
		})
	}
	count := fmt.Sprintf("%d resources", len(items))
	if len(items) == 1 {
		count = "1 resource"
	}
	if more {
		count += fmt.Sprintf(" shown, more match (--limit=%d)", req.limit)
	}
	count += fmt.Sprintf(" expiring by %s UTC (within %d days)", req.filter.ExpireBy.Format(time.DateTime), req.days)
	if !req.filter.IncludeInactive {
		count += ", active only"
	}
	// The same text in every cell merges into one line across the table.
	footer := make(table.Row, 10)
	for i := range footer {
		footer[i] = count
	}
	t.AppendFooter(footer, table.RowConfig{AutoMerge: true, AutoMergeAlign: text.AlignLeft})
	t.Render()
}

func reportResourceCell(it reportItem) string {
	name := reportTruncate(reportCell(it.ResourceName), reportNameWidth)
	if name == "" {
		return reportCell(it.ResourceID)
	}
	return name + " (" + reportCell(it.ResourceID) + ")"
}

func reportServiceCell(code string) string {
	if name, ok := reportServiceNames[code]; ok {
		return name
	}
	return reportCell(code)
}

// reportTagsCell lists the tags as k=v sorted by key, cut for the table; unknown
// tags say why.
func reportTagsCell(it reportItem) string {
	if it.Tags == nil {
		switch it.TagStatus {
		case "unsupported":
			return "(type not tagged)"
		case "not_found":
			return "(vanished)"
		case "error":
			return "(could not read)"
		}
		return "(unknown)"
	}
	if len(it.Tags) == 0 {
		return "(none)"
	}
	keys := make([]string, 0, len(it.Tags))
	for k := range it.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + it.Tags[k]
	}
	return reportTruncate(reportCell(strings.Join(parts, ", ")), reportTagsWidth)
}

// reportTruncate cuts s to at most width terminal columns (CJK characters
// and most emoji take two), marking the cut with "…".
func reportTruncate(s string, width int) string {
	if text.StringWidthWithoutEscSequences(s) <= width {
		return s
	}
	return text.Trim(s, width-1) + "…"
}

// reportCell keeps a table cell on one line and free of terminal escapes.
func reportCell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// optInt writes an optional number, empty when unknown.
func optInt(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}
