package huawei_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/testkit/hwsim"
)

func TestThrottlingCodesAreThrottled(t *testing.T) {
	sim, url := newSim(t, 50, hwsim.Knobs{TMSThrottle403Ratio: 1, BSSIPThrottleRatio: 1})
	c := newClient(t, url)
	var vm hwsim.Resource
	for r := range sim.All() {
		if r.TMSResourceType == "ecs" {
			vm = r
			break
		}
	}
	_, err := c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: vm.ResourceID, ProjectID: vm.ProjectID, ResourceTypeCode: vm.ResourceTypeCode})
	ae := apiError(t, err)
	assert.Equal(t, huawei.KindThrottled, ae.Kind, "403 TMS.0006 is TMS's throttling")
	assert.Equal(t, 403, ae.Status)
	assert.Empty(t, ae.IAMAction)

	_, err = c.ListPage(context.Background(), wideWindow(0, 10))
	ae = apiError(t, err)
	assert.Equal(t, huawei.KindThrottled, ae.Kind, "400 CBC.99007197 is BSS flow control by IP")
	assert.Equal(t, "CBC.99007197", ae.Code)

	// The pause after a throttled call holds the next TMS call back.
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{}))
	start := time.Now()
	_, err = c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: vm.ResourceID, ProjectID: vm.ProjectID, ResourceTypeCode: vm.ResourceTypeCode})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "paused after TMS.0006")
}

func TestShowResourceTagWithoutProjectIsABadRequest(t *testing.T) {
	sim, url := newSim(t, 50, hwsim.Knobs{})
	c := newClient(t, url)
	for r := range sim.All() {
		if r.TMSResourceType == "ecs" {
			_, err := c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: r.ResourceID, ResourceTypeCode: r.ResourceTypeCode})
			ae := apiError(t, err)
			assert.Equal(t, huawei.KindBadRequest, ae.Kind)
			assert.Equal(t, "TMS.2011", ae.Code)
			return
		}
	}
	t.Fatal("no VM")
}

func TestListQuarantinesMalformedRecordsAndKeepsTheRest(t *testing.T) {
	sim, url := newSim(t, 60, hwsim.Knobs{})
	rs := sim.Resources()
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{
		MalformedResourceIDs: []string{rs[3].ResourceID}, NoIDResourceIDs: []string{rs[7].ResourceID},
		PartialResourceIDs: []string{rs[10].ResourceID}, NoProjectResourceIDs: []string{rs[11].ResourceID},
	}))
	page, err := newClient(t, url).ListPage(context.Background(), wideWindow(0, 500))
	require.NoError(t, err)
	assert.Equal(t, 60, page.Received)
	assert.Len(t, page.Resources, 58)
	require.Len(t, page.Quarantined, 2)
	assert.Equal(t, huawei.Quarantined{Index: 3, ResourceID: rs[3].ResourceID, Reason: page.Quarantined[0].Reason}, page.Quarantined[0])
	assert.Contains(t, page.Quarantined[0].Reason, "expire_time")
	assert.Equal(t, 7, page.Quarantined[1].Index)
	assert.Empty(t, page.Quarantined[1].ResourceID)
	assert.Equal(t, "no resource_id", page.Quarantined[1].Reason)
	byID := map[string]inventory.Resource{}
	for _, r := range page.Resources {
		byID[r.ResourceID] = r
	}
	partial := byID[rs[10].ResourceID]
	assert.Nil(t, partial.Status, "a missing status is unknown, not 0")
	assert.Nil(t, partial.ExpirePolicy, "a missing expire_policy is unknown, not 0 (grace period)")
	noProject, ok := byID[rs[11].ResourceID]
	assert.True(t, ok, "a record without project_id is kept")
	assert.Empty(t, noProject.ProjectID)
	require.NotNil(t, byID[rs[0].ResourceID].ExpirePolicy)
	assert.Equal(t, int(rs[0].ExpirePolicy), *byID[rs[0].ResourceID].ExpirePolicy)
}

func TestSiteEndpointsComeFromTheSDK(t *testing.T) {
	for site, want := range map[string][2]string{
		"":     {"https://bss.myhuaweicloud.com", "https://tms.myhuaweicloud.com"},
		"cn":   {"https://bss.myhuaweicloud.com", "https://tms.myhuaweicloud.com"},
		"intl": {"https://bss-intl.myhuaweicloud.com", "https://tms-intl.myhuaweicloud.com"},
		"EU":   {"https://bss.myhuaweicloud.eu", "https://tms.eu-west-101.myhuaweicloud.eu"},
	} {
		bss, tms, err := huawei.SiteEndpoints(site)
		require.NoError(t, err, site)
		assert.Equal(t, want, [2]string{bss, tms}, site)
	}
	_, _, err := huawei.SiteEndpoints("us")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `HUAWEI_SITE="us"`)
	assert.Contains(t, err.Error(), "cn (China), intl (international) or eu (Europe)")

	_, err = huawei.New(config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain, Site: "mars", HTTPTimeout: time.Second})
	require.ErrorContains(t, err, `HUAWEI_SITE="mars"`)
}

func TestExplicitEndpointsOverrideTheSite(t *testing.T) {
	_, url := newSim(t, 10, hwsim.Knobs{})
	c := newClient(t, url, func(c *config.Huawei) { c.Site = "eu" })
	_, err := c.ListPage(context.Background(), wideWindow(0, 10))
	require.NoError(t, err, "the simulator's URL, not bss.myhuaweicloud.eu")
}

func TestErrorHints(t *testing.T) {
	sim, url := newSim(t, 10, hwsim.Knobs{})
	c := newClient(t, url)
	for _, code := range []string{hwsim.CodeWrongSite, hwsim.CodeWrongSiteOther} {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{WrongSite: code}))
		_, err := c.ListPage(context.Background(), wideWindow(0, 10))
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindForbidden, ae.Kind)
		assert.Empty(t, ae.IAMAction, "a wrong site is no missing permission")
		assert.Contains(t, ae.Error(), "set HUAWEI_SITE to the account's site (cn, intl or eu)")
	}
	wrongKey := newClient(t, url, func(c *config.Huawei) { c.SecretKey = "wrong" })
	_, err := wrongKey.ListPage(context.Background(), wideWindow(0, 10))
	assert.Contains(t, apiError(t, err).Error(), "this machine's clock")

	// APIGW.0303 is App authentication: an endpoint that is not an AK/SK API.
	for code, hint := range map[string]string{
		"APIGW.0303": "App (AppKey) authentication, not AK/SK",
		"APIG.0303":  "App (AppKey) authentication, not AK/SK",
		"APIGW.0101": "does not serve the API: check HUAWEI_SITE",
	} {
		status := map[string]int{"APIGW.0303": 401, "APIG.0303": 401, "APIGW.0101": 404}[code]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error_code":"` + code + `","error_msg":"refused"}`))
		}))
		_, err := newClient(t, srv.URL).ListPage(context.Background(), wideWindow(0, 10))
		srv.Close()
		assert.Contains(t, apiError(t, err).Error(), hint, code)
	}
}

func TestProvidersAndTheRestrictedCatalog(t *testing.T) {
	sim, url := newSim(t, 100, hwsim.Knobs{UnservedTMSTypes: []string{"dcs"}})
	c := newClient(t, url)
	served, err := c.Providers(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, served, "dcs")
	assert.Contains(t, served, "ecs")
	table, warnings := catalog.Default().Restrict(served)
	assert.Len(t, warnings, 3, "dcs, dcs2, dcs3")
	c.UseCatalog(table)
	for r := range sim.All() {
		if r.ResourceTypeCode == catalog.ResourceDCS {
			res, err := c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
			require.NoError(t, err)
			assert.Equal(t, inventory.TagsUnsupported, res.Status, "a type TMS does not serve costs no call")
			return
		}
	}
	t.Fatal("no DCS record")
}

// Invariant: one bad record never fails an account, and no id reaches a
// TMS URL path that would change it. Ids with "/", "?" or "#", or longer
// than an id may be, are quarantined with their reason; the rest of the
// page is kept. Over-long descriptive values are kept whole here (the
// store cuts them to their columns).
func TestListQuarantinesIDsNoPathOrColumnCanTake(t *testing.T) {
	sim, url := newSim(t, 40, hwsim.Knobs{})
	rs := sim.Resources()
	odd := []string{rs[1].ResourceID, rs[2].ResourceID, rs[3].ResourceID, rs[4].ResourceID}
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{OddIDResourceIDs: odd, LongFieldResourceIDs: []string{rs[5].ResourceID}}))
	page, err := newClient(t, url).ListPage(context.Background(), wideWindow(0, 500))
	require.NoError(t, err)
	assert.Equal(t, 40, page.Received)
	require.Len(t, page.Quarantined, 4)
	reasons := ""
	for _, q := range page.Quarantined {
		assert.NotEmpty(t, q.ResourceID, "the record names the id it came with")
		reasons += q.Reason + "\n"
	}
	for _, want := range []string{"/ ? # % \\", "characters, more than the 128"} {
		assert.Contains(t, reasons, want)
	}
	for _, r := range page.Resources {
		assert.NoError(t, inventory.CheckID(r.ResourceID))
	}
	long := slices.IndexFunc(page.Resources, func(r inventory.Resource) bool { return r.ResourceID == rs[5].ResourceID })
	require.GreaterOrEqual(t, long, 0, "a record with over-long values is kept")
	assert.Greater(t, len([]rune(page.Resources[long].Name)), 512)
}
