package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"expiry-sync/internal/report"
	"expiry-sync/internal/store"
)

// clock is the report's "now"; tests pin it.
var clock = time.Now

const allowedTag = "key=value, or key= for an empty value"

type reportOptions struct {
	days            rawInt
	limit           rawInt
	accounts        []string
	service         string
	region          string
	project         string
	tags            []string
	includeInactive bool
	sort            string
}

// rawInt is an int flag read as typed, so that a bad value is reported by
// the command in its own words (flag, value, what is allowed).
type rawInt struct{ raw string }

func (r *rawInt) String() string     { return r.raw }
func (r *rawInt) Set(v string) error { r.raw = v; return nil }
func (r *rawInt) Type() string       { return "int" }

func (e *env) reportCommand() *cobra.Command {
	o := &reportOptions{limit: rawInt{strconv.Itoa(report.DefaultLimit)}}
	cmd := &cobra.Command{
		Use:   "report --expire-days N",
		Short: "List the resources to renew: those expiring within --expire-days, with their owners' tags",
		Long: `report lists the yearly/monthly resources of the inventory that expire within
--expire-days from now, including the already expired but still active ones
(negative DAYS LEFT, the most urgent: the default order puts them first). It reads
the worker's database, DATABASE_URL (unset: sqlite://expiry-sync.db), and never
writes to it: run a sync first. It needs no Temporal settings.

Filters combine with AND. --tag key=value matches tags exactly (case, spaces,
quotes, %, _ and backslashes are plain characters); --tag key= matches a tag whose
value is empty. The key is everything before the first '='.

Output: text is a table for people; json, jsonl and csv carry every stored field
(csv: tags as one JSON column, empty when unknown; json: tags as an object, null
when unknown). When --limit cuts the list, a note goes to stderr.`,
		Example: `  # What must be renewed this week
  starter report --expire-days 7

  # The production ECS servers of one project expiring within 30 days, soonest first
  starter report --expire-days 30 --service ecs --project 0a1b2c3d4e5f40718293a4b5c6d7e8f9 --tag env=prod

  # Two accounts of the workers' accounts file
  starter report --expire-days 30 --account prod --account staging --sort account

  # Everything expiring within 90 days in cn-north-4, for a spreadsheet
  starter report --expire-days 90 --region cn-north-4 -o csv > expiring.csv

  # Tags with any characters; --tag owner= finds an owner tag left empty
  starter report --expire-days 14 --tag 负责人=张三 --tag 'cost-center=研发部-成本中心' -o json
  starter report --expire-days 14 --tag owner= --include-inactive --sort name`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return e.runReport(cmd, o) },
	}
	f := cmd.Flags()
	f.Var(&o.days, "expire-days", fmt.Sprintf(
		"report resources expiring within this many days from now, expired ones included (1..%d, required)",
		report.MaxDays,
	))
	addAccountFilter(f, &o.accounts, "only the resources")
	f.StringVar(&o.service, "service", "", "only this service: "+report.AllowedServices)
	f.StringVar(&o.region, "region", "", "only this region code, e.g. cn-north-4")
	f.StringVar(&o.project, "project", "", "only this project id")
	f.StringArrayVar(
		&o.tags,
		"tag",
		nil,
		"only resources with this tag, as key=value (key= for an empty value); repeat: all must match",
	)
	f.BoolVar(&o.includeInactive, "include-inactive", false, "also report resources the last sync no longer saw")
	f.StringVar(
		&o.sort,
		"sort",
		string(store.SortExpire),
		"order: "+joinNames(sortNames())+" (then expire time and resource id)",
	)
	f.Var(&o.limit, "limit", fmt.Sprintf("print at most this many resources (1..%d)", report.MaxLimit))
	_ = cmd.RegisterFlagCompletionFunc("sort", completeWords(sortNames()...))
	_ = cmd.RegisterFlagCompletionFunc("service", completeWords(report.Services...))
	describeOutput(cmd, report.Result{})
	return cmd
}

func sortNames() []string {
	var names []string
	for _, s := range store.ReportSorts() {
		names = append(names, string(s))
	}
	return names
}

// query checks every flag before the database is touched; the errors are
// bad input (exit 2), one line naming the flag, the value and what is allowed.
func (o *reportOptions) query(cmd *cobra.Command) (report.Query, error) {
	var q report.Query
	if !cmd.Flags().Changed("expire-days") {
		return q, fmt.Errorf("--expire-days is required: allowed 1..%d (days from now)", report.MaxDays)
	}
	var err error
	if q.Days, err = parseRange("expire-days", o.days.raw, 1, report.MaxDays); err != nil {
		return q, err
	}
	sort := store.ReportSort(strings.ToLower(o.sort))
	if !slices.Contains(store.ReportSorts(), sort) {
		return q, fmt.Errorf("--sort=%s is not allowed: allowed %s", quote(o.sort), joinNames(sortNames()))
	}
	if q.Limit, err = parseRange("limit", o.limit.raw, 1, report.MaxLimit); err != nil {
		return q, err
	}
	if err := checkAccountFilter(o.accounts); err != nil {
		return q, err
	}
	service, ok := report.ServiceCode(o.service)
	if !ok {
		return q, fmt.Errorf("--service=%s is not allowed: allowed %s", quote(o.service), report.AllowedServices)
	}
	tags := make([]store.TagMatch, 0, len(o.tags))
	for _, t := range o.tags {
		key, value, ok := strings.Cut(t, "=")
		switch {
		case !ok:
			return q, fmt.Errorf("--tag=%s has no '=': allowed %s", quote(t), allowedTag)
		case key == "":
			return q, fmt.Errorf("--tag=%s has an empty key: allowed %s", quote(t), allowedTag)
		}
		tags = append(tags, store.TagMatch{Key: key, Value: value})
	}
	q.Filter = store.ReportFilter{
		IncludeInactive: o.includeInactive, AccountNames: o.accounts, ServiceTypeCode: service, RegionCode: o.region,
		ProjectID: o.project, Tags: tags, Sort: sort,
	}
	return q, nil
}

func parseRange(flag, raw string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("--%s=%s is out of range: allowed %d..%d", flag, quote(raw), lo, hi)
		}
		return 0, fmt.Errorf("--%s=%s is not a whole number: allowed %d..%d", flag, quote(raw), lo, hi)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("--%s=%d is out of range: allowed %d..%d", flag, n, lo, hi)
	}
	return n, nil
}

// quote quotes a flag value when printing it bare could mislead: empty, or
// holding spaces, quotes or control characters (which would also break the
// one-line message).
func quote(v string) string {
	if v == "" ||
		strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' }) {
		return strconv.Quote(v)
	}
	return v
}

func (e *env) runReport(cmd *cobra.Command, o *reportOptions) error {
	q, err := o.query(cmd)
	if err != nil {
		return err
	}
	dbURL := e.cfg.DatabaseURL.Reveal()
	if err := store.CheckURL(dbURL); err != nil {
		return err // a malformed DATABASE_URL is a bad setting
	}
	name := databaseName(dbURL)
	if path, missing := store.MissingSQLiteFile(dbURL); missing {
		return fail(fmt.Errorf(
			"database %s has no expiry-sync tables (the file %s does not exist): "+
				"start the worker once with this DATABASE_URL to create them, then run a sync",
			name,
			path,
		))
	}
	ctx := cmd.Context()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		return fail(errors.New(oneLine(err.Error())))
	}
	defer s.Close()
	res, err := report.Run(ctx, s, q, clock())
	switch {
	case errors.Is(err, store.ErrNoTables):
		return fail(fmt.Errorf(
			"database %s has no expiry-sync tables: "+
				"start the worker once with this DATABASE_URL to create them, then run a sync",
			name,
		))
	case err != nil:
		return fail(fmt.Errorf("reading database %s: %s", name, oneLine(err.Error())))
	}
	if err := e.print(res); err != nil {
		return err
	}
	if res.More {
		fmt.Fprintf(
			e.stderr,
			"note: more than %d resources match; only the first %d are shown (raise --limit, up to %d)\n",
			q.Limit,
			q.Limit,
			report.MaxLimit,
		)
	}
	return nil
}

// databaseName names DATABASE_URL in messages, password hidden.
func databaseName(dbURL string) string {
	if dbURL == "" {
		return "sqlite://" + store.DefaultSQLiteFile + " (DATABASE_URL is unset)"
	}
	return store.Redact(dbURL)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")), " ")
}
