package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/contract"
	"expiry-sync/internal/printer"
	"expiry-sync/internal/report"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/reporttest"
	"expiry-sync/internal/testkit/testenv"
)

func run(t *testing.T, q report.Query) report.Result {
	t.Helper()
	s := reporttest.Open(t, testenv.SQLiteURL(t))
	res, err := report.Run(context.Background(), s, q, reporttest.Now)
	require.NoError(t, err)
	return res
}

func week(f store.ReportFilter) report.Query { return report.Query{Days: 7, Limit: 1000, Filter: f} }

func render(t *testing.T, f printer.Format, r report.Result) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, printer.Printer{Out: &b, Format: f}.Print(r))
	return b.String()
}

func TestTable(t *testing.T) {
	got := render(t, printer.Text, run(t, week(store.ReportFilter{})))
	assert.Equal(t, wantTable, got)
}

// wantTable: expired first, inactive and later ones left out, long names
// and tag lists cut at their widths (CJK counts twice), a newline in a tag
// shown as ?, statuses and policies BSS did not give as unknown, unknown
// numbers as numbers.
const wantTable = `┌─────────────────────┬───────────┬─────────┬─────────────────────────────────────────────────┬──────────┬─────────┬────────┬────────────┬─────────┬──────────┬────────────────┬────────────────────────────────────────────────────┐
│ EXPIRES (UTC)       │ DAYS LEFT │ ACCOUNT │ RESOURCE                                        │ DECISION │ SERVICE │ TYPE   │ REGION     │ PROJECT │ STATUS   │ EXPIRE POLICY  │ TAGS                                               │
├─────────────────────┼───────────┼─────────┼─────────────────────────────────────────────────┼──────────┼─────────┼────────┼────────────┼─────────┼──────────┼────────────────┼────────────────────────────────────────────────────┤
│ 2026-11-23 08:00:00 │        -3 │ prod    │ b-web (expired-active)                          │          │ ecs     │ vm     │ cn-north-4 │ p1      │ frozen   │ grace period   │ env=prod                                           │
│ 2026-11-27 08:00:00 │         1 │ prod    │ 中文服务器 (soon-1)                             │          │ evs     │ volume │ cn-east-3  │ p2      │ in use   │ to pay-per-use │ env=prod, quote"key=say "hi", 团队=运维部 🚀       │
│ 2026-11-28 08:00:00 │         2 │ prod    │ A-db (soon-2)                                   │          │ ecs     │ vm     │ cn-north-4 │ p1      │ expired  │ auto-renew     │ env=test, pct=100%, under_score=a_b                │
│ 2026-11-30 08:00:00 │         4 │ prod    │ Z-cache (unknown-tags)                          │          │ dcs     │ dcs    │ cn-south-1 │ p3      │ unknown  │ unknown        │ (type not tagged)                                  │
│ 2026-12-01 08:00:00 │         5 │ prod    │ a-db (empty-val)                                │          │ rds     │ rds.vm │ cn-north-4 │ p1      │ status 7 │ policy 9       │ ENV=PROD, emoji🎉=🔥, env=, lines=one?two          │
│ 2026-12-02 08:00:00 │         6 │ prod    │ 🚀rocket (no-tags)                              │          │ vpc     │ ip     │ cn-east-3  │ p2      │ in use   │ freeze         │ (none)                                             │
│ 2026-12-03 08:00:00 │         7 │ prod    │ eip-edge-日志日志日志日志日志日志日志日… (edge) │          │ vpc     │ ip     │ cn-north-4 │ p1      │ in use   │ to pay-per-use │ a='; DROP TABLE expiring_resources; --, back\slas… │
├─────────────────────┴───────────┴─────────┴─────────────────────────────────────────────────┴──────────┴─────────┴────────┴────────────┴─────────┴──────────┴────────────────┴────────────────────────────────────────────────────┤
│ 7 resources expiring by 2026-12-03 08:00:00 UTC (within 7 days), active only                                                                                                                                                      │
└───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
`

// The machine formats carry every field of report.Item, named and ordered
// as its JSON tags: the CSV header is the JSON keys.
var wantColumns = []string{
	"expire_time", "days_left", "resource_id", "resource_name", "service_type_code", "resource_type_code", "resource_spec_code",
	"region_code", "project_id", "enterprise_project_id", "status", "status_text", "expire_policy", "expire_policy_text",
	"tags", "tag_status", "tag_error", "is_active", "is_main_resource", "parent_resource_id", "effective_time", "cut_fields",
	"account_id", "account_name", "cloud_provider", "first_seen_at", "last_synced_at", "last_sync_id", "id",
	"decision", "decision_request_id",
}

func TestCSV(t *testing.T) {
	res := run(t, week(store.ReportFilter{IncludeInactive: true}))
	records, err := csv.NewReader(strings.NewReader(render(t, printer.CSV, res))).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 1+8)
	assert.Equal(t, wantColumns, records[0])
	row := map[string]map[string]string{}
	for _, r := range records[1:] {
		m := map[string]string{}
		for i, name := range records[0] {
			m[name] = r[i]
		}
		row[m["resource_id"]] = m
	}
	soon := row["soon-1"]
	assert.NotEmpty(t, soon["id"])
	delete(soon, "id") // assigned by the database
	assert.Equal(t, map[string]string{
		"expire_time": "2026-11-27T08:00:00Z", "days_left": "1", "resource_id": "soon-1", "resource_name": "中文服务器",
		"service_type_code": catalog.ServiceEVS, "resource_type_code": catalog.ResourceVolume, "resource_spec_code": "spec-soon-1",
		"region_code": "cn-east-3", "project_id": "p2", "enterprise_project_id": "0",
		"status": "2", "status_text": "in use", "expire_policy": "1", "expire_policy_text": "to pay-per-use",
		"tags": `{"env":"prod","quote\"key":"say \"hi\"","团队":"运维部 🚀"}`, "tag_status": "ok", "tag_error": "",
		"is_active": "true", "is_main_resource": "true", "parent_resource_id": "", "effective_time": "2025-11-27T08:00:00Z", "cut_fields": "",
		"account_id": reporttest.Account, "account_name": reporttest.AccountName, "cloud_provider": "huawei",
		"first_seen_at": "2026-11-26T08:00:00Z", "last_synced_at": "2026-11-26T08:00:00Z", "last_sync_id": "sync-report",
		"decision": "", "decision_request_id": "",
	}, soon)
	// Every tag survives, byte for byte, in the JSON column.
	for id, r := range row {
		f := reporttest.Find(id)
		if f.UnknownTags {
			assert.Equal(t, "", r["tags"], id)
			assert.Equal(t, "unsupported", r["tag_status"], id)
			continue
		}
		var tags map[string]string
		require.NoError(t, json.Unmarshal([]byte(r["tags"]), &tags), id)
		assert.Equal(t, f.Tags, tags, id)
	}
	assert.Equal(t, "false", row["inactive"]["is_active"])
	assert.Equal(t, "-3", row["expired-active"]["days_left"])
	assert.Equal(t, "", row["unknown-tags"]["status"], "null is an empty cell")
	assert.Equal(t, "unknown", row["unknown-tags"]["status_text"])
	assert.Equal(t, "", row["unknown-tags"]["expire_policy"])
	assert.Equal(t, "delete from retention", row["inactive"]["expire_policy_text"])
}

func TestJSON(t *testing.T) {
	res := run(t, week(store.ReportFilter{}))
	out := render(t, printer.JSON, res)

	// The keys are the CSV's columns, in the same order.
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	require.Len(t, raw, 7)
	dec := json.NewDecoder(bytes.NewReader(raw[0]))
	_, _ = dec.Token()
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	assert.Equal(t, wantColumns, keys)

	var items []report.Item
	dec = json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&items))
	assert.Equal(t, res.Items, items, "JSON carries the items whole")
	first := items[0]
	assert.NotZero(t, first.ID)
	first.ID = 0
	effective := time.Date(2025, 11, 23, 8, 0, 0, 0, time.UTC)
	assert.Equal(t, report.Item{
		ExpireTime: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), DaysLeft: -3,
		ResourceID: "expired-active", ResourceName: "b-web", ServiceTypeCode: catalog.ServiceECS, ResourceTypeCode: catalog.ResourceVM,
		ResourceSpecCode: "spec-expired-active", RegionCode: "cn-north-4", ProjectID: "p1", EnterpriseProjectID: "0",
		Status: new(4), StatusText: "frozen", ExpirePolicy: new(0), ExpirePolicyText: "grace period",
		Tags: map[string]string{"env": "prod"}, TagStatus: "ok",
		IsActive: true, IsMainResource: true, EffectiveTime: &effective, AccountID: reporttest.Account, AccountName: reporttest.AccountName, CloudProvider: "huawei",
		FirstSeenAt: reporttest.Now, LastSyncedAt: reporttest.Now, LastSyncID: "sync-report",
	}, first)
	assert.Contains(t, out, `"expire_time": "2026-11-23T08:00:00Z"`, "times are UTC")
	assert.Contains(t, out, `"tags": null`, "unknown tags are null")
	assert.Contains(t, out, `"status": null`, "so is a status BSS did not give")
	assert.Contains(t, out, `"a": "'; DROP TABLE expiring_resources; --"`, "no HTML escaping of tags")
}

func TestEmptyResult(t *testing.T) {
	res := run(t, week(store.ReportFilter{Tags: []store.TagMatch{{Key: "env", Value: "none"}}}))
	assert.Equal(t, "[]\n", render(t, printer.JSON, res))
	assert.Equal(t, "", render(t, printer.JSONL, res))
	assert.Equal(t, strings.Join(wantColumns, ",")+"\n", render(t, printer.CSV, res))
	lines := strings.Split(strings.TrimSuffix(render(t, printer.Text, res), "\n"), "\n")
	require.Len(t, lines, 5)
	assert.Equal(t, "│ EXPIRES (UTC) │ DAYS LEFT │ ACCOUNT │ RESOURCE │ DECISION │ SERVICE │ TYPE │ REGION │ PROJECT │ STATUS │ EXPIRE POLICY │ TAGS │", lines[1])
	assert.Regexp(t, `^│ 0 resources expiring by 2026-12-03 08:00:00 UTC \(within 7 days\), active only +│$`, lines[3])
}

func TestLimitSaysWhenItCuts(t *testing.T) {
	q := week(store.ReportFilter{})
	q.Limit = 2
	res := run(t, q)
	assert.True(t, res.More)
	require.Len(t, res.Items, 2)
	assert.Equal(t, "soon-1", res.Items[1].ResourceID)
	assert.Contains(t, render(t, printer.Text, res), "│ 2 resources shown, more match (--limit=2) expiring by 2026-12-03 08:00:00 UTC (within 7 days), active only ")

	q.Limit = 7
	assert.False(t, run(t, q).More, "exactly the limit: nothing was cut")
}

func TestDaysLeftRoundsDown(t *testing.T) {
	now := reporttest.Now
	for d, want := range map[time.Duration]int{
		0: 0, time.Second: 0, 24*time.Hour - time.Second: 0, 24 * time.Hour: 1,
		-time.Second: -1, -24 * time.Hour: -1, -24*time.Hour - time.Second: -2,
	} {
		assert.Equal(t, want, report.DaysLeft(now.Add(d), now), d)
	}
}

func TestServiceCode(t *testing.T) {
	for in, want := range map[string]string{"": "", "ecs": catalog.ServiceECS, "EC2": catalog.ServiceECS, "ebs": catalog.ServiceEVS,
		"vpc": catalog.ServiceVPC, "rds": catalog.ServiceRDS, "dcs": catalog.ServiceDCS, "hws.service.type.obs": "hws.service.type.obs"} {
		got, ok := report.ServiceCode(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"s3", "hws.service.type.", "hws.service.type.ec2' OR '1'='1", "HWS.SERVICE.TYPE.EC2"} {
		_, ok := report.ServiceCode(bad)
		assert.False(t, ok, bad)
	}
}

// The decision column: an open request with its state and id, a renewal
// done to at least the current expiry, a decision to let the current
// expiry lapse, the latest request that ended otherwise; nothing for the
// rest, and for a lapse decided for an expiry that has since moved.
func TestDecisionColumn(t *testing.T) {
	ctx := context.Background()
	s := reporttest.Open(t, testenv.SQLiteURL(t))
	state := func(id, st string, closed bool, resources ...string) contract.RenewState {
		return contract.RenewState{RequestID: id, Account: reporttest.AccountName, Kind: contract.RenewKindRenew, State: st, Closed: closed,
			ResourceIDs: resources, Period: contract.Period{Unit: "y", Num: 1}, Requester: "alice", CreatedAt: reporttest.Now, UpdatedAt: reporttest.Now}
	}
	rec := func(seq int, st contract.RenewState) {
		require.NoError(t, s.RecordRenewal(ctx, reporttest.Account, contract.RenewEvent{RequestID: st.RequestID, Seq: seq, At: reporttest.Now, Kind: st.State, State: st}))
	}
	const pending = "renew-prod-1a2b3c4d5e-20261126"
	rec(1, state(pending, contract.RenewPending, false, "soon-1"))
	done := state("renew-prod-done", contract.RenewDone, true, "soon-2", "edge")
	done.NewExpiry = map[string]time.Time{"soon-2": reporttest.Find("soon-2").Expire, "edge": reporttest.Find("edge").Expire.AddDate(-1, 0, 0)}
	rec(6, done)
	ordered := state("renew-prod-ordered", contract.RenewOrdered, false, "unknown-tags")
	ordered.Kind = contract.RenewKindAutoRenewOn
	rec(4, ordered)
	rec(2, state("renew-prod-rejected", contract.RenewRejected, true, "empty-val"))
	_, err := s.RecordLapse(ctx, reporttest.Account, reporttest.AccountName, "no-tags", "lab router, replaced by "+strings.Repeat("x", 60), "bob", reporttest.Now)
	require.NoError(t, err)
	_, err = s.RecordLapse(ctx, reporttest.Account, reporttest.AccountName, "expired-active", "old decision", "bob", reporttest.Now)
	require.NoError(t, err)
	require.NoError(t, s.DB().Exec("UPDATE lapse_decisions SET expire_time = ? WHERE resource_id = ?", reporttest.Now.AddDate(-1, 0, 0), "expired-active").Error,
		"a decision for an earlier expiry")

	res, err := report.Run(ctx, s, week(store.ReportFilter{}), reporttest.Now)
	require.NoError(t, err)
	got := map[string][2]string{}
	for _, it := range res.Items {
		got[it.ResourceID] = [2]string{it.Decision, it.DecisionRequestID}
	}
	assert.Equal(t, map[string][2]string{
		"expired-active": {"", ""},
		"soon-1":         {"renew pending (" + pending + ")", pending},
		"soon-2":         {"renewed until 2026-11-28", "renew-prod-done"},
		"unknown-tags":   {"autorenew-on ordered (renew-prod-ordered)", "renew-prod-ordered"},
		"empty-val":      {"renew rejected (renew-prod-rejected)", "renew-prod-rejected"},
		"no-tags":        {"lapse: lab router, replaced by " + strings.Repeat("x", 60), ""},
		"edge":           {"renew done (renew-prod-done)", "renew-prod-done"},
	}, got)

	table := render(t, printer.Text, res)
	assert.Contains(t, table, "│ renew pending ("+pending+")  │", "a request id is never cut")
	assert.Contains(t, table, "│ lapse: lab router, replaced by "+strings.Repeat("x", 15)+"… │", "a long reason is, at 40 columns")
	out := render(t, printer.JSON, res)
	assert.Contains(t, out, `"decision": "renew pending (`+pending+`)"`)
	assert.Contains(t, out, `"decision_request_id": "`+pending+`"`)
	records, err := csv.NewReader(strings.NewReader(render(t, printer.CSV, res))).ReadAll()
	require.NoError(t, err)
	col := slices.Index(records[0], "decision")
	require.NotEqual(t, -1, col)
	assert.Contains(t, slices.Collect(func(yield func(string) bool) {
		for _, r := range records[1:] {
			if !yield(r[col]) {
				return
			}
		}
	}), "lapse: lab router, replaced by "+strings.Repeat("x", 60), "the CSV carries the whole reason")
}

func TestDecisionTextWithoutRequest(t *testing.T) {
	text, id := report.DecisionText(nil, reporttest.Now)
	assert.Empty(t, text+id)
	text, _ = report.DecisionText(&store.Decision{ResourceID: "r", Lapse: &store.Lapse{}}, reporttest.Now)
	assert.Equal(t, "lapse", text, "a lapse without a reason")
}
