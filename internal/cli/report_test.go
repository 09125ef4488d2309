package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testenv"
)

// These tests are in package cli to pin the report's clock.

var reportTestNow = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

const reportTestAccount = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"

func runReport(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), append([]string{"report"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func pinReportClock(t *testing.T) {
	t.Helper()
	reportClock = func() time.Time { return reportTestNow }
	t.Cleanup(func() { reportClock = time.Now })
}

type fixtureRow struct {
	id, name, service, resType, region, project string
	status, policy                              int
	expire                                      time.Duration // from reportTestNow
	tags                                        map[string]string
	untagged, inactive                          bool
}

var cliFixture = []fixtureRow{
	{id: "i-expired", name: "web-01", service: catalog.ServiceECS, resType: catalog.ResourceVM, region: "cn-north-4", project: "p-prod",
		status: 4, policy: 0, expire: -36 * time.Hour, tags: map[string]string{"env": "prod", "owner": "张三", "项目": strings.Repeat("研发", 20)}},
	{id: "vol-1", name: "数据盘-01", service: catalog.ServiceEVS, resType: catalog.ResourceVolume, region: "cn-north-4", project: "p-prod",
		status: 2, policy: 3, expire: 30 * time.Hour, tags: map[string]string{`quote"key`: `say "hi"`, "empty": "", "env": "prod"}},
	{id: "gone-1", name: "old-vm", service: catalog.ServiceECS, resType: catalog.ResourceVM, region: "cn-north-4", project: "p-prod",
		status: 2, policy: 5, expire: 48 * time.Hour, tags: map[string]string{"env": "prod"}, inactive: true},
	{id: "dcs-1", name: "会话缓存", service: catalog.ServiceDCS, resType: catalog.ResourceDCS, region: "cn-east-3", project: "p-test",
		status: 2, policy: 2, expire: 72 * time.Hour, untagged: true},
	{id: "obs-1", name: "bucket-" + strings.Repeat("日志", 25), service: "hws.service.type.obs", resType: "hws.resource.type.obs", region: "cn-east-3", project: "p-test",
		status: 7, policy: 9, expire: 4 * 24 * time.Hour, tags: map[string]string{}},
	{id: "rds-1", name: "", service: catalog.ServiceRDS, resType: catalog.ResourceRDS, region: "cn-south-1", project: "p-test",
		status: 2, policy: 1, expire: 6*24*time.Hour + time.Hour, untagged: true},
	{id: "eip-1", name: "eip-gw", service: catalog.ServiceVPC, resType: catalog.ResourceIP, region: "cn-north-4", project: "p-prod",
		status: 2, policy: 4, expire: 7 * 24 * time.Hour,
		tags: map[string]string{"note": strings.Repeat("x", 70), "0two": "line1\nline2", "100%": `C:\dir_%d`}},
	{id: "later-1", name: "later", service: catalog.ServiceECS, resType: catalog.ResourceVM, region: "cn-north-4", project: "p-prod",
		status: 2, policy: 0, expire: 7*24*time.Hour + time.Second, tags: map[string]string{"env": "prod"}},
}

// fillReportDB writes the fixture through the store, as a sync would, into
// a new SQLite database that DATABASE_URL then names.
func fillReportDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	url := testenv.SQLiteURL(t)
	s, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	log, err := s.BeginSync(ctx, store.SyncStart{SyncID: "sync-1", RunID: "run-1", AccountID: reportTestAccount, ExpireDays: 30,
		WindowBegin: reportTestNow.AddDate(0, 0, -15), WindowEnd: reportTestNow.AddDate(0, 0, 30)}, nil)
	require.NoError(t, err)
	rows := make([]inventory.Row, len(cliFixture))
	for i, f := range cliFixture {
		expire := reportTestNow.Add(f.expire)
		rows[i] = inventory.Row{
			Resource: inventory.Resource{ResourceID: f.id, Name: f.name, RegionCode: f.region, ProjectID: f.project,
				ServiceTypeCode: f.service, ResourceTypeCode: f.resType, ResourceSpecCode: "spec-" + f.id, IsMainResource: true,
				Status: &f.status, ExpireTime: expire, EffectiveTime: expire.AddDate(-1, 0, 0), ExpirePolicy: &f.policy, EnterpriseProjectID: "0"},
			Tags: inventory.TagResult{ResourceID: f.id, Status: inventory.TagsOK, Tags: f.tags},
		}
		if f.untagged {
			rows[i].Tags = inventory.TagResult{ResourceID: f.id, Status: inventory.TagsUnsupported}
		}
	}
	_, err = s.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: 1, Rows: rows, SyncedAt: reportTestNow.Add(-time.Hour)})
	require.NoError(t, err)
	for _, f := range cliFixture {
		if f.inactive {
			require.NoError(t, s.DB().Model(&store.ExpiringResource{}).Where("resource_id = ?", f.id).Update("is_active", false).Error)
		}
	}
	t.Setenv("DATABASE_URL", url)
	return url
}

func TestReportBadInputExitsTwoBeforeTouchingTheDatabase(t *testing.T) {
	// Were the database touched, the command would exit 1.
	t.Setenv("DATABASE_URL", "mysql://root:hunter2@127.0.0.1:1/nothing")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--within-days is required: allowed 1..3650 (days from now)"},
		{[]string{"--format", "json"}, "--within-days is required: allowed 1..3650 (days from now)"},
		{[]string{"--within-days", "0"}, "--within-days=0 is out of range: allowed 1..3650"},
		{[]string{"--within-days", "-1"}, "--within-days=-1 is out of range: allowed 1..3650"},
		{[]string{"--within-days=3651"}, "--within-days=3651 is out of range: allowed 1..3650"},
		{[]string{"--within-days", "99999999999999999999"}, "--within-days=99999999999999999999 is out of range: allowed 1..3650"},
		{[]string{"--within-days", "abc"}, "--within-days=abc is not a whole number: allowed 1..3650"},
		{[]string{"--within-days", "7.5"}, "--within-days=7.5 is not a whole number: allowed 1..3650"},
		{[]string{"--within-days", ""}, `--within-days="" is not a whole number: allowed 1..3650`},
		{[]string{"--within-days", "'; DROP TABLE x;--"}, `--within-days="'; DROP TABLE x;--" is not a whole number: allowed 1..3650`},
		{[]string{"--within-days", "7\nerror: injected"}, `--within-days="7\nerror: injected" is not a whole number: allowed 1..3650`},
		{[]string{"--within-days", "7", "--format", "xml"}, "--format=xml is not allowed: allowed table, csv, json"},
		{[]string{"--within-days", "7", "--format", ""}, `--format="" is not allowed: allowed table, csv, json`},
		{[]string{"--within-days", "7", "--sort", "size"}, "--sort=size is not allowed: allowed expire, name, service, region, project"},
		{[]string{"--within-days", "7", "--sort", "expire_time; DROP TABLE expiring_resources"}, `--sort="expire_time; DROP TABLE expiring_resources" is not allowed: allowed expire, name, service, region, project`},
		{[]string{"--within-days", "7", "--limit", "0"}, "--limit=0 is out of range: allowed 1..100000"},
		{[]string{"--within-days", "7", "--limit", "100001"}, "--limit=100001 is out of range: allowed 1..100000"},
		{[]string{"--within-days", "7", "--limit", "all"}, "--limit=all is not a whole number: allowed 1..100000"},
		{[]string{"--within-days", "7", "--service", "s3"}, "--service=s3 is not allowed: allowed ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2"},
		{[]string{"--within-days", "7", "--service", "hws.service.type."}, "--service=hws.service.type. is not allowed: allowed ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2"},
		{[]string{"--within-days", "7", "--service", "hws.service.type.ec2' OR '1'='1"}, `--service="hws.service.type.ec2' OR '1'='1" is not allowed: allowed ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2`},
		{[]string{"--within-days", "7", "--tag", "env"}, "--tag=env has no '=': allowed key=value, or key= for an empty value"},
		{[]string{"--within-days", "7", "--tag", "env=prod", "--tag", "负责人"}, "--tag=负责人 has no '=': allowed key=value, or key= for an empty value"},
		{[]string{"--within-days", "7", "--tag", "=prod"}, "--tag==prod has an empty key: allowed key=value, or key= for an empty value"},
		{[]string{"--within-days", "7", "--tag", ""}, `--tag="" has no '=': allowed key=value, or key= for an empty value`},
		{[]string{"--within-days", "7", "extra"}, `unknown command "extra" for "starter report"`},
		{[]string{"--within-days", "7", "--no-such-flag"}, "unknown flag: --no-such-flag (see 'starter report --help')"},
	} {
		code, out, errOut := runReport(t, c.args...)
		assert.Equal(t, ExitBadInput, code, "%q", c.args)
		assert.Equal(t, "error: "+c.want+"\n", errOut, "%q", c.args)
		assert.Empty(t, out, "%q: nothing on stdout", c.args)
	}
}

func TestReportBadDatabaseURLIsBadInput(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u:hunter2@h/db")
	code, out, errOut := runReport(t, "--within-days", "7")
	assert.Equal(t, ExitBadInput, code)
	assert.Empty(t, out)
	assert.Equal(t, `error: DATABASE_URL=postgres://u:xxxxx@h/db has scheme "postgres": allowed mysql://user:pass@host:3306/db or sqlite:///path/file.db`+"\n", errOut)
}

func TestReportUnreachableDatabaseExitsOne(t *testing.T) {
	t.Setenv("DATABASE_URL", "mysql://root:hunter2@127.0.0.1:1/inventory")
	code, out, errOut := runReport(t, "--within-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, "error: database mysql://root:xxxxx@127.0.0.1:1/inventory"), errOut)
	assert.Contains(t, errOut, "connection refused")
	assert.NotContains(t, errOut, "hunter2")
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
}

func TestReportWithoutTablesExitsOneAndCreatesNothing(t *testing.T) {
	// An SQLite file that does not exist is not created.
	path := filepath.Join(t.TempDir(), "never-synced.db")
	t.Setenv("DATABASE_URL", "sqlite://"+path)
	code, out, errOut := runReport(t, "--within-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "error: database sqlite://"+path+" has no expiry-sync tables (the file "+path+
		" does not exist): start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "the report created the database file")

	// A database that exists but was never migrated.
	url := testenv.SQLiteURL(t)
	s, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	t.Setenv("DATABASE_URL", url)
	code, out, errOut = runReport(t, "--within-days", "7", "--format", "json")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "error: database "+url+" has no expiry-sync tables: start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)

	// Unset: the worker's default file in the working directory.
	t.Chdir(t.TempDir())
	t.Setenv("DATABASE_URL", "")
	code, _, errOut = runReport(t, "--within-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Equal(t, "error: database sqlite://expiry-sync.db (DATABASE_URL is unset) has no expiry-sync tables (the file expiry-sync.db does not exist): "+
		"start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)
	_, err = os.Stat("expiry-sync.db")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReportMissingTablesOnMySQLExitsOne(t *testing.T) {
	url := testenv.MySQLURL(t)
	t.Setenv("DATABASE_URL", url)
	code, out, errOut := runReport(t, "--within-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "error: database "+url+" has no expiry-sync tables: start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)
}

const wantTable = `┌─────────────────────┬───────────┬──────────────────────────────────────────────────┬──────────────────────┬────────┬────────────┬─────────┬──────────┬────────────────┬────────────────────────────────────────────────────┐
│ EXPIRES (UTC)       │ DAYS LEFT │ RESOURCE                                         │ SERVICE              │ TYPE   │ REGION     │ PROJECT │ STATUS   │ EXPIRE POLICY  │ TAGS                                               │
├─────────────────────┼───────────┼──────────────────────────────────────────────────┼──────────────────────┼────────┼────────────┼─────────┼──────────┼────────────────┼────────────────────────────────────────────────────┤
│ 2026-11-24 20:00:00 │        -2 │ web-01 (i-expired)                               │ ecs                  │ vm     │ cn-north-4 │ p-prod  │ frozen   │ grace period   │ env=prod, owner=张三, 项目=研发研发研发研发研发研… │
│ 2026-11-27 14:00:00 │         1 │ 数据盘-01 (vol-1)                                │ evs                  │ volume │ cn-north-4 │ p-prod  │ in use   │ auto-renew     │ empty=, env=prod, quote"key=say "hi"               │
│ 2026-11-29 08:00:00 │         3 │ 会话缓存 (dcs-1)                                 │ dcs                  │ dcs    │ cn-east-3  │ p-test  │ in use   │ auto-delete    │ (type not tagged)                                  │
│ 2026-11-30 08:00:00 │         4 │ bucket-日志日志日志日志日志日志日志日志… (obs-1) │ hws.service.type.obs │ obs    │ cn-east-3  │ p-test  │ status 7 │ policy 9       │ (none)                                             │
│ 2026-12-02 09:00:00 │         6 │ rds-1                                            │ rds                  │ rds.vm │ cn-south-1 │ p-test  │ in use   │ to pay-per-use │ (type not tagged)                                  │
│ 2026-12-03 08:00:00 │         7 │ eip-gw (eip-1)                                   │ vpc                  │ ip     │ cn-north-4 │ p-prod  │ in use   │ freeze         │ 0two=line1?line2, 100%=C:\dir_%d, note=xxxxxxxxxx… │
├─────────────────────┴───────────┴──────────────────────────────────────────────────┴──────────────────────┴────────┴────────────┴─────────┴──────────┴────────────────┴────────────────────────────────────────────────────┤
│ 6 resources expiring by 2026-12-03 08:00:00 UTC (within 7 days), active only                                                                                                                                               │
└────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
`

func TestReportTable(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	code, out, errOut := runReport(t, "--within-days", "7")
	require.Equal(t, ExitOK, code, errOut)
	assert.Empty(t, errOut)
	assert.Equal(t, wantTable, out)
}

var wantCSVHeader = []string{
	"expire_time", "days_left", "resource_id", "resource_name", "service_type_code", "resource_type_code", "resource_spec_code",
	"region_code", "project_id", "enterprise_project_id", "status", "status_text", "expire_policy", "expire_policy_text",
	"tags", "tag_status", "tag_error", "is_active", "is_main_resource", "parent_resource_id", "effective_time",
	"account_id", "cloud_provider", "first_seen_at", "last_synced_at", "last_sync_id", "id",
}

func parseCSV(t *testing.T, out string) [][]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err, out)
	require.NotEmpty(t, records, "a header row")
	assert.Equal(t, wantCSVHeader, records[0])
	return records
}

func TestReportCSV(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	code, out, errOut := runReport(t, "--within-days", "7", "--format", "csv", "--include-inactive")
	require.Equal(t, ExitOK, code, errOut)
	assert.Empty(t, errOut)
	records := parseCSV(t, out)
	require.Len(t, records, 1+7)
	var gotIDs []string
	for _, r := range records[1:] {
		gotIDs = append(gotIDs, r[2])
	}
	assert.Equal(t, []string{"i-expired", "vol-1", "gone-1", "dcs-1", "obs-1", "rds-1", "eip-1"}, gotIDs)

	row := func(id string) map[string]string {
		for _, r := range records[1:] {
			if r[2] == id {
				m := map[string]string{}
				for i, name := range records[0] {
					m[name] = r[i]
				}
				return m
			}
		}
		t.Fatalf("no row %s", id)
		return nil
	}
	vol := row("vol-1")
	delete(vol, "id") // assigned by the database
	assert.Equal(t, map[string]string{
		"expire_time": "2026-11-27T14:00:00Z", "days_left": "1", "resource_id": "vol-1", "resource_name": "数据盘-01",
		"service_type_code": catalog.ServiceEVS, "resource_type_code": catalog.ResourceVolume, "resource_spec_code": "spec-vol-1",
		"region_code": "cn-north-4", "project_id": "p-prod", "enterprise_project_id": "0",
		"status": "2", "status_text": "in use", "expire_policy": "3", "expire_policy_text": "auto-renew",
		"tags": `{"empty":"","env":"prod","quote\"key":"say \"hi\""}`, "tag_status": "ok", "tag_error": "",
		"is_active": "true", "is_main_resource": "true", "parent_resource_id": "", "effective_time": "2025-11-27T14:00:00Z",
		"account_id": reportTestAccount, "cloud_provider": "huawei",
		"first_seen_at": "2026-11-26T07:00:00Z", "last_synced_at": "2026-11-26T07:00:00Z", "last_sync_id": "sync-1",
	}, vol)

	// Every tag survives, byte for byte, in the JSON column.
	for _, f := range cliFixture {
		if f.id == "later-1" {
			continue
		}
		r := row(f.id)
		if f.untagged {
			assert.Equal(t, "", r["tags"], f.id)
			assert.Equal(t, "unsupported", r["tag_status"], f.id)
			continue
		}
		var tags map[string]string
		require.NoError(t, json.Unmarshal([]byte(r["tags"]), &tags), f.id)
		assert.Equal(t, f.tags, tags, f.id)
	}
	assert.Equal(t, "false", row("gone-1")["is_active"])
	assert.Equal(t, "-2", row("i-expired")["days_left"])
	assert.Equal(t, "frozen", row("i-expired")["status_text"])
	assert.Equal(t, "status 7", row("obs-1")["status_text"])
	assert.Equal(t, "policy 9", row("obs-1")["expire_policy_text"])
	assert.Equal(t, "delete from retention", row("gone-1")["expire_policy_text"])
}

// jsonItem decodes one element of the JSON report.
type jsonItem struct {
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
	Status              *int              `json:"status"`
	StatusText          string            `json:"status_text"`
	ExpirePolicy        *int              `json:"expire_policy"`
	ExpirePolicyText    string            `json:"expire_policy_text"`
	Tags                map[string]string `json:"tags"`
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

func TestReportJSON(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	code, out, errOut := runReport(t, "--within-days", "7", "--format", "json")
	require.Equal(t, ExitOK, code, errOut)
	assert.Empty(t, errOut)

	// The keys are the CSV's columns, in the same order.
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	require.Len(t, raw, 6)
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
	assert.Equal(t, wantCSVHeader, keys)

	var items []jsonItem
	dec = json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&items))
	var gotIDs []string
	for _, it := range items {
		gotIDs = append(gotIDs, it.ResourceID)
	}
	assert.Equal(t, []string{"i-expired", "vol-1", "dcs-1", "obs-1", "rds-1", "eip-1"}, gotIDs)

	first := items[0]
	assert.NotZero(t, first.ID)
	first.ID = 0
	effective := time.Date(2025, 11, 24, 20, 0, 0, 0, time.UTC)
	assert.Equal(t, jsonItem{
		ExpireTime: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC), DaysLeft: -2,
		ResourceID: "i-expired", ResourceName: "web-01", ServiceTypeCode: catalog.ServiceECS, ResourceTypeCode: catalog.ResourceVM,
		ResourceSpecCode: "spec-i-expired", RegionCode: "cn-north-4", ProjectID: "p-prod", EnterpriseProjectID: "0",
		Status: new(4), StatusText: "frozen", ExpirePolicy: new(0), ExpirePolicyText: "grace period",
		Tags: map[string]string{"env": "prod", "owner": "张三", "项目": strings.Repeat("研发", 20)}, TagStatus: "ok",
		IsActive: true, IsMainResource: true, EffectiveTime: &effective, AccountID: reportTestAccount, CloudProvider: "huawei",
		FirstSeenAt: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC), LastSyncedAt: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		LastSyncID: "sync-1",
	}, first)
	assert.Contains(t, out, `"expire_time": "2026-11-24T20:00:00Z"`, "times are UTC")

	byID := map[string]jsonItem{}
	for _, it := range items {
		byID[it.ResourceID] = it
	}
	assert.Equal(t, map[string]string{`quote"key`: `say "hi"`, "empty": "", "env": "prod"}, byID["vol-1"].Tags)
	assert.Equal(t, map[string]string{"note": strings.Repeat("x", 70), "0two": "line1\nline2", "100%": `C:\dir_%d`}, byID["eip-1"].Tags, "nothing is cut")
	assert.Equal(t, map[string]string{}, byID["obs-1"].Tags)
	assert.Nil(t, byID["rds-1"].Tags, "unknown tags are null")
	assert.Contains(t, out, `"tags": null`)
	assert.Equal(t, 7, byID["eip-1"].DaysLeft)
	assert.Equal(t, 6, byID["rds-1"].DaysLeft)
}

func TestReportEmptyResult(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	args := []string{"--within-days", "7", "--tag", "env=none"}

	code, out, errOut := runReport(t, append(args, "--format", "json")...)
	assert.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, "[]\n", out)

	code, out, errOut = runReport(t, append(args, "--format", "csv")...)
	assert.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, strings.Join(wantCSVHeader, ",")+"\n", out)

	code, out, errOut = runReport(t, args...)
	assert.Equal(t, ExitOK, code, errOut)
	assert.Empty(t, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 5, out)
	assert.Equal(t, "│ EXPIRES (UTC) │ DAYS LEFT │ RESOURCE │ SERVICE │ TYPE │ REGION │ PROJECT │ STATUS │ EXPIRE POLICY │ TAGS │", lines[1])
	assert.Regexp(t, `^│ 0 resources expiring by 2026-12-03 08:00:00 UTC \(within 7 days\), active only +│$`, lines[3])
}

// reportIDs runs the report as JSON and returns the resource ids in order.
func reportIDs(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := runReport(t, append([]string{"--format", "json"}, args...)...)
	require.Equal(t, ExitOK, code, "%q: %s", args, errOut)
	var items []jsonItem
	require.NoError(t, json.Unmarshal([]byte(out), &items))
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ResourceID)
	}
	return ids
}

func TestReportFiltersAndSorts(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--within-days", "1"}, []string{"i-expired"}},
		{[]string{"--within-days", "2"}, []string{"i-expired", "vol-1"}},
		{[]string{"--within-days", "8"}, []string{"i-expired", "vol-1", "dcs-1", "obs-1", "rds-1", "eip-1", "later-1"}},
		{[]string{"--within-days", "7", "--include-inactive"}, []string{"i-expired", "vol-1", "gone-1", "dcs-1", "obs-1", "rds-1", "eip-1"}},
		{[]string{"--within-days", "7", "--service", "ecs"}, []string{"i-expired"}},
		{[]string{"--within-days", "7", "--service", "EC2", "--include-inactive"}, []string{"i-expired", "gone-1"}},
		{[]string{"--within-days", "7", "--service", catalog.ServiceECS}, []string{"i-expired"}},
		{[]string{"--within-days", "7", "--service", "evs"}, []string{"vol-1"}},
		{[]string{"--within-days", "7", "--service", "ebs"}, []string{"vol-1"}},
		{[]string{"--within-days", "7", "--service", "vpc"}, []string{"eip-1"}},
		{[]string{"--within-days", "7", "--service", "rds"}, []string{"rds-1"}},
		{[]string{"--within-days", "7", "--service", "dcs"}, []string{"dcs-1"}},
		{[]string{"--within-days", "7", "--service", "hws.service.type.obs"}, []string{"obs-1"}},
		{[]string{"--within-days", "7", "--region", "cn-east-3"}, []string{"dcs-1", "obs-1"}},
		{[]string{"--within-days", "7", "--region", "cn-%"}, []string{}},
		{[]string{"--within-days", "7", "--project", "p-test", "--region", "cn-south-1"}, []string{"rds-1"}},
		{[]string{"--within-days", "7", "--tag", "env=prod"}, []string{"i-expired", "vol-1"}},
		{[]string{"--within-days", "7", "--tag", "env=prod", "--include-inactive"}, []string{"i-expired", "vol-1", "gone-1"}},
		{[]string{"--within-days", "7", "--tag", "env=prod", "--tag", "owner=张三"}, []string{"i-expired"}},
		{[]string{"--within-days", "7", "--tag", `quote"key=say "hi"`}, []string{"vol-1"}},
		{[]string{"--within-days", "7", "--tag", "empty="}, []string{"vol-1"}},
		{[]string{"--within-days", "7", "--tag", "env="}, []string{}},
		{[]string{"--within-days", "7", "--tag", `100%=C:\dir_%d`}, []string{"eip-1"}},
		{[]string{"--within-days", "7", "--tag", `100%=C:\dir%`}, []string{}},
		{[]string{"--within-days", "7", "--tag", "0two=line1\nline2"}, []string{"eip-1"}},
		{[]string{"--within-days", "7", "--tag", "env=prod,owner=张三"}, []string{}},
		{[]string{"--within-days", "7", "--sort", "name"}, []string{"rds-1", "obs-1", "eip-1", "i-expired", "dcs-1", "vol-1"}},
		{[]string{"--within-days", "7", "--sort", "service"}, []string{"dcs-1", "vol-1", "i-expired", "obs-1", "rds-1", "eip-1"}},
		{[]string{"--within-days", "7", "--sort", "REGION"}, []string{"dcs-1", "obs-1", "i-expired", "vol-1", "eip-1", "rds-1"}},
		{[]string{"--within-days", "7", "--sort", "project"}, []string{"i-expired", "vol-1", "eip-1", "dcs-1", "obs-1", "rds-1"}},
		{[]string{"--within-days", "7", "--sort", "expire", "--limit", "100000"}, []string{"i-expired", "vol-1", "dcs-1", "obs-1", "rds-1", "eip-1"}},
	} {
		assert.Equal(t, c.want, reportIDs(t, c.args...), "%q", c.args)
	}
}

func TestReportLimitSaysWhenItCuts(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	code, out, errOut := runReport(t, "--within-days", "7", "--limit", "2", "--format", "csv")
	require.Equal(t, ExitOK, code, errOut)
	records := parseCSV(t, out)
	require.Len(t, records, 3)
	assert.Equal(t, "i-expired", records[1][2])
	assert.Equal(t, "vol-1", records[2][2])
	assert.Equal(t, "note: more than 2 resources match; only the first 2 are shown (raise --limit, up to 100000)\n", errOut)

	code, out, errOut = runReport(t, "--within-days", "7", "--limit", "2")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "│ 2 resources shown, more match (--limit=2) expiring by 2026-12-03 08:00:00 UTC (within 7 days), active only ")

	code, _, errOut = runReport(t, "--within-days", "7", "--limit", "6")
	require.Equal(t, ExitOK, code)
	assert.Empty(t, errOut, "exactly the limit: nothing was cut")
}

func TestReportNeedsNoTemporalSettings(t *testing.T) {
	pinReportClock(t)
	fillReportDB(t)
	t.Setenv("TEMPORAL_NAMESPACE", " ")
	t.Setenv("TEMPORAL_ADDRESS", "")
	code, _, errOut := runReport(t, "--within-days", "7")
	assert.Equal(t, ExitOK, code, errOut)
}

func TestReportHelpShowsExamples(t *testing.T) {
	code, out, _ := runReport(t, "--help")
	assert.Equal(t, ExitOK, code)
	for _, want := range []string{
		"starter report --within-days 7\n",
		"--service ecs --project 0a1b2c3d4e5f40718293a4b5c6d7e8f9 --tag env=prod",
		"--format csv > expiring.csv",
		"--tag owner= --include-inactive --sort name",
		"--within-days int", "--limit int", "(default 1000)", "--tag stringArray",
	} {
		assert.Contains(t, out, want)
	}
}
