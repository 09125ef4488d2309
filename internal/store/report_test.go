package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/reporttest"
	"expiry-sync/internal/testkit/testenv"
)

var (
	reportNow     = reporttest.Now
	reportBy      = reporttest.By
	reportAccount = reporttest.Account
)

// withReportFixture runs fn on both databases, each holding the shared
// report fixture (internal/testkit/reporttest).
func withReportFixture(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) { fn(t, reporttest.Open(t, db.URL(t))) })
	}
}

func ids(rows []store.ExpiringResource) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ResourceID
	}
	return out
}

func TestExpiringWithinSelectsByExpireAndActivity(t *testing.T) {
	withReportFixture(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		got, err := s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy})
		require.NoError(t, err)
		assert.Equal(t, []string{"expired-active", "soon-1", "soon-2", "unknown-tags", "empty-val", "no-tags", "edge"}, ids(got),
			"active only, expired ones first, the boundary second included, one second later excluded")

		got, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, IncludeInactive: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"expired-active", "soon-1", "soon-2", "inactive", "unknown-tags", "empty-val", "no-tags", "edge"}, ids(got))
		assert.False(t, got[3].IsActive)

		got, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportNow})
		require.NoError(t, err)
		assert.Equal(t, []string{"expired-active"}, ids(got), "already expired but still active")

		// A sub-second bound behaves as its whole second.
		got, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy.Add(999 * time.Millisecond)})
		require.NoError(t, err)
		assert.NotContains(t, ids(got), "later")
		assert.Contains(t, ids(got), "edge")

		// Every stored field comes back.
		r := got[1]
		assert.Equal(t, "soon-1", r.ResourceID)
		assert.Equal(t, "中文服务器", r.ResourceName)
		assert.Equal(t, catalog.ServiceEVS, r.ServiceTypeCode)
		assert.Equal(t, "cn-east-3", r.RegionCode)
		assert.Equal(t, "p2", r.ProjectID)
		assert.Equal(t, reportAccount, r.AccountID)
		assert.Equal(t, new(1), r.ExpirePolicy)
		assert.True(t, r.ExpireTime.Equal(reportNow.Add(24*time.Hour)), "%s", r.ExpireTime)
		assert.Equal(t, store.Tags{`quote"key`: `say "hi"`, "团队": "运维部 🚀", "env": "prod"}, r.Tags)
		assert.Nil(t, got[3].Tags, "unknown tags stay NULL")
		assert.Equal(t, store.Tags{}, got[5].Tags)
	})
}

func TestExpiringWithinFilters(t *testing.T) {
	withReportFixture(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, c := range []struct {
			name string
			f    store.ReportFilter
			want []string
		}{
			{"service", store.ReportFilter{ServiceTypeCode: catalog.ServiceECS}, []string{"expired-active", "soon-2"}},
			{"service with inactive", store.ReportFilter{ServiceTypeCode: catalog.ServiceECS, IncludeInactive: true}, []string{"expired-active", "soon-2", "inactive"}},
			{"unknown service", store.ReportFilter{ServiceTypeCode: "hws.service.type.obs"}, []string{}},
			{"region", store.ReportFilter{RegionCode: "cn-east-3"}, []string{"soon-1", "no-tags"}},
			{"project", store.ReportFilter{ProjectID: "p3"}, []string{"unknown-tags"}},
			{"region and project", store.ReportFilter{RegionCode: "cn-north-4", ProjectID: "p2"}, []string{}},
			{"region is not a pattern", store.ReportFilter{RegionCode: "cn-%"}, []string{}},
			{"service, region and project", store.ReportFilter{ServiceTypeCode: catalog.ServiceVPC, RegionCode: "cn-north-4", ProjectID: "p1"}, []string{"edge"}},
			{"limit", store.ReportFilter{Limit: 2}, []string{"expired-active", "soon-1"}},
			{"limit above count", store.ReportFilter{Limit: 100}, []string{"expired-active", "soon-1", "soon-2", "unknown-tags", "empty-val", "no-tags", "edge"}},
		} {
			c.f.ExpireBy = reportBy
			got, err := s.ExpiringWithin(ctx, c.f)
			require.NoError(t, err, c.name)
			assert.Equal(t, c.want, ids(got), c.name)
		}
	})
}

func TestExpiringWithinMatchesTagsExactly(t *testing.T) {
	withReportFixture(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tag := func(kv ...string) []store.TagMatch {
			var out []store.TagMatch
			for i := 0; i < len(kv); i += 2 {
				out = append(out, store.TagMatch{Key: kv[i], Value: kv[i+1]})
			}
			return out
		}
		for _, c := range []struct {
			name string
			tags []store.TagMatch
			want []string
		}{
			{"plain", tag("env", "prod"), []string{"expired-active", "soon-1"}},
			{"another value", tag("env", "test"), []string{"soon-2"}},
			{"empty value matches an empty value only", tag("env", ""), []string{"empty-val"}},
			{"keys are case-sensitive", tag("ENV", "prod"), []string{}},
			{"upper-case key", tag("ENV", "PROD"), []string{"empty-val"}},
			{"values are case-sensitive", tag("env", "PROD"), []string{}},
			{"double quotes", tag(`quote"key`, `say "hi"`), []string{"soon-1"}},
			{"Chinese and emoji", tag("团队", "运维部 🚀"), []string{"soon-1"}},
			{"a prefix is no match", tag("团队", "运维部"), []string{}},
			{"emoji key", tag("emoji🎉", "🔥"), []string{"empty-val"}},
			{"percent literal", tag("pct", "100%"), []string{"soon-2"}},
			{"percent is no wildcard", tag("pct", "%"), []string{}},
			{"underscore literal", tag("under_score", "a_b"), []string{"soon-2"}},
			{"underscore is no wildcard in keys", tag("under-score", "a_b"), []string{}},
			{"underscore is no wildcard in values", tag("under_score", "a-b"), []string{}},
			{"backslashes", tag(`back\slash`, `C:\path\%d`), []string{"edge"}},
			{"backslash not doubled", tag(`back\\slash`, `C:\\path\\%d`), []string{}},
			{"SQL in a value is data", tag("a", `'; DROP TABLE expiring_resources; --`), []string{"edge"}},
			{"all must match", tag("env", "prod", "团队", "运维部 🚀"), []string{"soon-1"}},
			{"all must match, one fails", tag("env", "prod", "pct", "100%"), []string{}},
			{"same key twice with two values", tag("env", "prod", "env", "test"), []string{}},
			{"missing key", tag("nope", ""), []string{}},
		} {
			got, err := s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, Tags: c.tags})
			require.NoError(t, err, c.name)
			assert.Equal(t, c.want, ids(got), c.name)
		}

		got, err := s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, Tags: tag("env", "prod"), IncludeInactive: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"expired-active", "soon-1", "inactive"}, ids(got))

		got, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, Tags: tag("env", "prod"), IncludeInactive: true, Limit: 2})
		require.NoError(t, err)
		assert.Equal(t, []string{"expired-active", "soon-1"}, ids(got), "the limit applies after the tag match")

		got, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy.Add(time.Hour), Tags: tag("env", "prod"), Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, []string{"expired-active", "soon-1", "later"}, ids(got), "non-matching rows do not count against the limit")

		// The table is intact after the value that looks like SQL.
		var n int64
		require.NoError(t, s.DB().Model(&store.ExpiringResource{}).Count(&n).Error)
		assert.Equal(t, int64(len(reporttest.Inventory)), n)
	})
}

func TestExpiringWithinSortsTheSameOnBothDatabases(t *testing.T) {
	withReportFixture(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// A second account holding a resource id of the first one and names
		// that collations would fold.
		reporttest.Write(t, s, "a0000000000000000000000000000002", "staging", "sync-other", []reporttest.Resource{
			{ID: "soon-1", Name: "a-db", Service: catalog.ServiceECS, Type: catalog.ResourceVM, Region: "ap-southeast-1", Project: "p9",
				Status: new(2), Expire: reportNow.Add(24 * time.Hour), Tags: map[string]string{}},
			{ID: "other-2", Name: "á-db", Service: catalog.ServiceECS, Type: catalog.ResourceVM, Region: "ap-southeast-1", Project: "p9",
				Status: new(2), Expire: reportNow.Add(5 * 24 * time.Hour), Tags: map[string]string{}},
		})
		for _, c := range []struct {
			sort store.ReportSort
			want []string
		}{
			{"", []string{"expired-active", "soon-1", "soon-1", "soon-2", "unknown-tags", "empty-val", "other-2", "no-tags", "edge"}},
			{store.SortExpire, []string{"expired-active", "soon-1", "soon-1", "soon-2", "unknown-tags", "empty-val", "other-2", "no-tags", "edge"}},
			// Byte order: upper case before lower case, then accents, CJK, emoji.
			{store.SortName, []string{"soon-2", "unknown-tags", "soon-1", "empty-val", "expired-active", "edge", "other-2", "soon-1", "no-tags"}},
			{store.SortService, []string{"unknown-tags", "soon-1", "expired-active", "soon-1", "soon-2", "other-2", "empty-val", "no-tags", "edge"}},
			{store.SortRegion, []string{"soon-1", "other-2", "soon-1", "no-tags", "expired-active", "soon-2", "empty-val", "edge", "unknown-tags"}},
			{store.SortProject, []string{"expired-active", "soon-2", "empty-val", "edge", "soon-1", "no-tags", "unknown-tags", "soon-1", "other-2"}},
			{store.SortAccount, []string{"expired-active", "soon-1", "soon-2", "unknown-tags", "empty-val", "no-tags", "edge", "soon-1", "other-2"}},
		} {
			got, err := s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, Sort: c.sort})
			require.NoError(t, err, c.sort)
			assert.Equal(t, c.want, ids(got), "sort %q", c.sort)
		}
		got, err := s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy})
		require.NoError(t, err)
		assert.Equal(t, reportAccount, got[1].AccountID, "same expire time and id: the account breaks the tie")
		for _, c := range []struct {
			names []string
			want  []string
		}{
			{[]string{"staging"}, []string{"soon-1", "other-2"}},
			{[]string{"prod", "staging"}, []string{"expired-active", "soon-1", "soon-1", "soon-2", "unknown-tags", "empty-val", "other-2", "no-tags", "edge"}},
			{[]string{"nope"}, []string{}},
		} {
			got, err := s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, AccountNames: c.names})
			require.NoError(t, err)
			assert.Equal(t, c.want, ids(got), "accounts %v", c.names)
			for _, r := range got {
				assert.Contains(t, c.names, r.AccountName)
			}
		}

		_, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy, Sort: "size"})
		assert.ErrorContains(t, err, `unknown sort "size"`)
		_, err = s.ExpiringWithin(ctx, store.ReportFilter{})
		assert.ErrorContains(t, err, "ExpireBy is required")
	})
}

func TestExpiringWithinWithoutTablesSaysSo(t *testing.T) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, db.URL(t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			_, err = s.ExpiringWithin(ctx, store.ReportFilter{ExpireBy: reportBy})
			assert.ErrorIs(t, err, store.ErrNoTables)
			assert.False(t, s.DB().Migrator().HasTable("expiring_resources"), "a report creates nothing")
		})
	}
}

func TestMissingSQLiteFileAndCheckURL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "none.db")
	got, missing := store.MissingSQLiteFile("sqlite://" + path)
	assert.True(t, missing)
	assert.Equal(t, path, got)
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, missing = store.MissingSQLiteFile("sqlite://" + path)
	assert.False(t, missing)
	_, missing = store.MissingSQLiteFile("mysql://root@127.0.0.1:3306/x")
	assert.False(t, missing)

	t.Chdir(dir)
	got, missing = store.MissingSQLiteFile("")
	assert.True(t, missing, "unset: the default file in the working directory")
	assert.Equal(t, store.DefaultSQLiteFile, got)

	assert.NoError(t, store.CheckURL("sqlite:///tmp/x.db"))
	assert.NoError(t, store.CheckURL(""))
	err := store.CheckURL("postgres://u:secret@h/db")
	assert.ErrorContains(t, err, "DATABASE_URL")
	assert.NotContains(t, err.Error(), "secret")
}
