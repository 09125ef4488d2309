// Package reporttest is the inventory that the report's tests and the
// store's report tests share: resources around a fixed "now", with the
// names, tags and fields that are hard to get right (quotes, %, _,
// backslashes, CJK and emoji, empty and unknown tags, SQL-looking values),
// written through the store as a sync writes them.
package reporttest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/store"
)

// Now is the report's "now" in these tests; resources are placed around it.
var Now = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

// By is Now plus 7 days: the bound of a 7-day report.
var By = Now.Add(7 * 24 * time.Hour)

// Account owns the Inventory; AccountName is its name in the accounts file.
const (
	Account     = "a0000000000000000000000000000001"
	AccountName = "prod"
)

// Resource is one stored resource of the fixture.
type Resource struct {
	ID, Name, Service, Type, Region, Project string
	// Status and Policy: nil when BSS did not say.
	Status, Policy *int
	Expire         time.Time
	// Tags: nil with UnknownTags, the type has none (NULL in the table).
	Tags        map[string]string
	UnknownTags bool
	Inactive    bool
}

// Inventory is the fixture, in expire order.
var Inventory = []Resource{
	{ID: "expired-active", Name: "b-web", Service: catalog.ServiceECS, Type: catalog.ResourceVM, Region: "cn-north-4", Project: "p1",
		Status: new(4), Policy: new(0), Expire: Now.Add(-3 * 24 * time.Hour), Tags: map[string]string{"env": "prod"}},
	{ID: "soon-1", Name: "中文服务器", Service: catalog.ServiceEVS, Type: catalog.ResourceVolume, Region: "cn-east-3", Project: "p2",
		Status: new(2), Policy: new(1), Expire: Now.Add(24 * time.Hour), Tags: map[string]string{`quote"key`: `say "hi"`, "团队": "运维部 🚀", "env": "prod"}},
	{ID: "soon-2", Name: "A-db", Service: catalog.ServiceECS, Type: catalog.ResourceVM, Region: "cn-north-4", Project: "p1",
		Status: new(5), Policy: new(3), Expire: Now.Add(2 * 24 * time.Hour), Tags: map[string]string{"pct": "100%", "under_score": "a_b", "env": "test"}},
	{ID: "inactive", Name: "gone", Service: catalog.ServiceECS, Type: catalog.ResourceVM, Region: "cn-north-4", Project: "p1",
		Status: new(2), Policy: new(5), Expire: Now.Add(3 * 24 * time.Hour), Tags: map[string]string{"env": "prod"}, Inactive: true},
	{ID: "unknown-tags", Name: "Z-cache", Service: catalog.ServiceDCS, Type: catalog.ResourceDCS, Region: "cn-south-1", Project: "p3",
		Status: nil, Policy: nil, Expire: Now.Add(4 * 24 * time.Hour), UnknownTags: true},
	{ID: "empty-val", Name: "a-db", Service: catalog.ServiceRDS, Type: catalog.ResourceRDS, Region: "cn-north-4", Project: "p1",
		Status: new(7), Policy: new(9), Expire: Now.Add(5 * 24 * time.Hour), Tags: map[string]string{"env": "", "emoji🎉": "🔥", "ENV": "PROD", "lines": "one\ntwo"}},
	{ID: "no-tags", Name: "🚀rocket", Service: catalog.ServiceVPC, Type: catalog.ResourceIP, Region: "cn-east-3", Project: "p2",
		Status: new(2), Policy: new(4), Expire: Now.Add(6 * 24 * time.Hour), Tags: map[string]string{}},
	{ID: "edge", Name: "eip-edge-" + strings.Repeat("日志", 20), Service: catalog.ServiceVPC, Type: catalog.ResourceIP, Region: "cn-north-4", Project: "p1",
		Status: new(2), Policy: new(1), Expire: By, Tags: map[string]string{`back\slash`: `C:\path\%d`, "a": `'; DROP TABLE expiring_resources; --`}},
	{ID: "later", Name: "", Service: catalog.ServiceECS, Type: catalog.ResourceVM, Region: "cn-north-4", Project: "p1",
		Status: new(2), Policy: new(0), Expire: By.Add(time.Second), Tags: map[string]string{"env": "prod"}},
}

// Find returns the fixture's resource id.
func Find(id string) Resource {
	for _, r := range Inventory {
		if r.ID == id {
			return r
		}
	}
	panic("reporttest: no resource " + id)
}

// Write stores resources for account (domain id) named name through
// BeginSync and CommitBatch, as a sync would, at Now; then marks the
// Inactive ones so.
func Write(t testing.TB, s *store.Store, account, name, syncID string, resources []Resource) {
	t.Helper()
	ctx := context.Background()
	log, err := s.BeginSync(ctx, store.SyncStart{SyncID: syncID, RunID: "run-1", AccountID: account, AccountName: name, ExpireDays: 30,
		WindowBegin: Now.AddDate(0, 0, -15), WindowEnd: Now.AddDate(0, 0, 30), Now: Now}, nil)
	require.NoError(t, err)
	rows := make([]inventory.Row, len(resources))
	for i, r := range resources {
		rows[i] = inventory.Row{
			Resource: inventory.Resource{ResourceID: r.ID, Name: r.Name, RegionCode: r.Region, ProjectID: r.Project,
				ServiceTypeCode: r.Service, ResourceTypeCode: r.Type, ResourceSpecCode: "spec-" + r.ID, IsMainResource: true,
				Status: r.Status, ExpireTime: r.Expire, EffectiveTime: r.Expire.AddDate(-1, 0, 0), ExpirePolicy: r.Policy, EnterpriseProjectID: "0"},
			Tags: inventory.TagResult{ResourceID: r.ID, Status: inventory.TagsOK, Tags: r.Tags},
		}
		if r.UnknownTags {
			rows[i].Tags = inventory.TagResult{ResourceID: r.ID, Status: inventory.TagsUnsupported}
		}
	}
	ok, err := s.CommitBatch(ctx, store.BatchCommit{Writer: log.Writer(), Batch: 1, Rows: rows, SyncedAt: Now})
	require.NoError(t, err)
	require.True(t, ok)
	for _, r := range resources {
		if r.Inactive {
			require.NoError(t, s.DB().Model(&store.ExpiringResource{}).
				Where("account_id = ? AND resource_id = ?", account, r.ID).Update("is_active", false).Error)
		}
	}
}

// Open migrates a new database at url and writes the Inventory into it.
func Open(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(ctx))
	Write(t, s, Account, AccountName, "sync-report", Inventory)
	return s
}
