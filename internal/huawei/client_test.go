package huawei_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/testkit/hwsim"
)

const (
	ak     = "TESTACCESSKEY000001"
	sk     = "test-secret-key-Qw3rTy"
	domain = "0123456789abcdef0123456789abcdef"
)

func newSim(t *testing.T, n int, knobs hwsim.Knobs) (*hwsim.Simulator, string) {
	t.Helper()
	sim, err := hwsim.New(hwsim.Options{Seed: 5, Resources: n, AccessKey: ak, SecretKey: sk, DomainID: domain, Knobs: knobs, FullCatalog: true})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func newClient(t *testing.T, url string, mutate ...func(*config.Huawei)) *huawei.Client {
	t.Helper()
	cfg := config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain, BSSEndpoint: url, TMSEndpoint: url, HTTPTimeout: 2 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := huawei.New(cfg)
	require.NoError(t, err)
	return c
}

func wideWindow(offset, limit int) huawei.ListQuery {
	now := time.Now()
	return huawei.ListQuery{ExpireBegin: now.AddDate(-1, 0, 0), ExpireEnd: now.AddDate(2, 0, 0), Offset: offset, Limit: limit}
}

func apiError(t *testing.T, err error) *huawei.APIError {
	t.Helper()
	var ae *huawei.APIError
	require.True(t, errors.As(err, &ae), "want *huawei.APIError, got %T: %v", err, err)
	return ae
}

func TestListPagesCoverTheAccountExactlyOnce(t *testing.T) {
	sim, url := newSim(t, 1234, hwsim.Knobs{})
	c := newClient(t, url)
	seen := map[string]inventory.Resource{}
	for offset := 0; ; {
		page, err := c.ListPage(context.Background(), wideWindow(offset, huawei.MaxPageSize))
		require.NoError(t, err)
		assert.Equal(t, 1234, page.TotalCount)
		for _, r := range page.Resources {
			_, dup := seen[r.ResourceID]
			require.False(t, dup)
			seen[r.ResourceID] = r
		}
		offset += page.Received
		if page.Received == 0 || offset >= page.TotalCount {
			break
		}
	}
	require.Len(t, seen, 1234)
	for _, w := range sim.Resources() {
		g := seen[w.ResourceID]
		assert.Equal(t, w.ResourceName, g.Name)
		assert.Equal(t, w.ProjectID, g.ProjectID)
		assert.Equal(t, w.ResourceTypeCode, g.ResourceTypeCode)
		assert.Equal(t, w.ParentResourceID, g.ParentResourceID)
		assert.Equal(t, w.IsMainResource == 1, g.IsMainResource)
		assert.True(t, w.ExpireTime.Equal(g.ExpireTime))
		assert.True(t, w.EffectiveTime.Equal(g.EffectiveTime))
		assert.Equal(t, w.EnterpriseProjectID, g.EnterpriseProjectID)
	}
	assert.Equal(t, int64(3), c.Stats().Requests.Load(), "one request per page of 500")
}

func TestListFiltersByWindowAndStatus(t *testing.T) {
	sim, url := newSim(t, 800, hwsim.Knobs{})
	c := newClient(t, url)
	q := huawei.ListQuery{ExpireBegin: sim.Epoch(), ExpireEnd: sim.Epoch().AddDate(0, 0, 30), StatusList: []int{2}, Limit: 500}
	page, err := c.ListPage(context.Background(), q)
	require.NoError(t, err)
	want := 0
	for _, r := range sim.Resources() {
		if r.Status == 2 && !r.ExpireTime.Before(q.ExpireBegin) && !r.ExpireTime.After(q.ExpireEnd) {
			want++
		}
	}
	require.Positive(t, want)
	assert.Equal(t, want, page.TotalCount)
	assert.Len(t, page.Resources, want)
	for _, r := range page.Resources {
		require.NotNil(t, r.Status)
		assert.Equal(t, 2, *r.Status)
	}
}

func TestTagsRoundTripThroughTheSDK(t *testing.T) {
	sim, url := newSim(t, 400, hwsim.Knobs{})
	c := newClient(t, url)
	checked, unsupported := 0, 0
	for _, r := range sim.Resources() {
		res, err := c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
		require.NoError(t, err)
		if r.TMSResourceType == "" {
			assert.Equal(t, inventory.TagsUnsupported, res.Status)
			unsupported++
			continue
		}
		assert.Equal(t, inventory.TagsOK, res.Status)
		if len(r.Tags) == 0 {
			assert.Empty(t, res.Tags)
		} else {
			assert.Equal(t, r.Tags, res.Tags, r.ResourceID)
		}
		checked++
	}
	assert.Positive(t, checked)
	assert.Positive(t, unsupported)
	assert.Equal(t, int64(checked), c.Stats().Requests.Load(), "types without TMS tags cost no call")
}

func TestSignatureIsVerified(t *testing.T) {
	_, url := newSim(t, 10, hwsim.Knobs{})
	for name, mutate := range map[string]func(*config.Huawei){
		"wrong secret key":   func(c *config.Huawei) { c.SecretKey = "not-the-secret" },
		"unknown access key": func(c *config.Huawei) { c.AccessKey = "UNKNOWNAK" },
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, url, mutate)
			_, err := c.ListPage(context.Background(), wideWindow(0, 10))
			ae := apiError(t, err)
			assert.Equal(t, huawei.KindAuth, ae.Kind)
			assert.Equal(t, 401, ae.Status)
			assert.Equal(t, "APIGW.0301", ae.Code)
			assert.NotEmpty(t, ae.RequestID)
			assert.False(t, ae.Kind.Retryable())
			assert.Contains(t, ae.Error(), "check HUAWEI_ACCESS_KEY, HUAWEI_SECRET_KEY")
			assert.NotContains(t, ae.Error(), sk)
			assert.NotContains(t, ae.Error(), "not-the-secret")
		})
	}
	t.Run("wrong domain", func(t *testing.T) {
		c := newClient(t, url, func(c *config.Huawei) { c.DomainID = "ffffffffffffffffffffffffffffffff" })
		_, err := c.ListPage(context.Background(), wideWindow(0, 10))
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindForbidden, ae.Kind)
		assert.Equal(t, 403, ae.Status)
	})
}

func TestErrorsAreClassified(t *testing.T) {
	sim, url := newSim(t, 50, hwsim.Knobs{})
	c := newClient(t, url)
	target := func() inventory.TagTarget {
		for _, r := range sim.Resources() {
			if r.TMSResourceType != "" {
				return inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode}
			}
		}
		t.Fatal("no taggable resource")
		return inventory.TagTarget{}
	}()
	ctx := context.Background()

	t.Run("500 is retryable", func(t *testing.T) {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{ErrorRatio: 1}))
		_, err := c.ResourceTags(ctx, target)
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindServer, ae.Kind)
		assert.True(t, ae.Kind.Retryable())
		_, err = c.ListPage(ctx, wideWindow(0, 10))
		assert.Equal(t, huawei.KindServer, apiError(t, err).Kind)
	})
	t.Run("429 is retryable and carries Retry-After", func(t *testing.T) {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{ThrottleRatio: 1}))
		_, err := c.ResourceTags(ctx, target)
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindThrottled, ae.Kind)
		assert.Equal(t, "APIGW.0308", ae.Code)
		assert.Equal(t, time.Second, ae.RetryAfter)
		assert.True(t, ae.Kind.Retryable())
	})
	t.Run("a TMS 403 names the IAM action and refuses the resource's type", func(t *testing.T) {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{TMSPermissionDenied: true}))
		_, err := c.ResourceTags(ctx, target)
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindForbidden, ae.Kind)
		assert.Equal(t, "tms:resourceTags:list", ae.IAMAction)
		tmsType, _ := c.TagTypeOf(target)
		assert.Equal(t, tmsType, ae.Scope, "tag reads also need the owning service's permission: the refusal covers the type")
		assert.False(t, ae.Kind.Retryable())
		assert.Contains(t, ae.Error(), "may not read the tags of TMS type "+tmsType+": grant it tms:resourceTags:list")
	})
	t.Run("404 means the resource vanished", func(t *testing.T) {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{}))
		require.Equal(t, 1, sim.RemoveResources(target.ResourceID))
		res, err := c.ResourceTags(ctx, target)
		require.NoError(t, err)
		assert.Equal(t, inventory.TagsNotFound, res.Status)
		assert.Empty(t, res.Tags)
	})
	t.Run("a refused limit is a bad request", func(t *testing.T) {
		_, err := c.ListPage(ctx, wideWindow(0, 501))
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindBadRequest, ae.Kind)
		assert.False(t, ae.Kind.Retryable())
	})
	t.Run("no answer within the timeout is a retryable transport error", func(t *testing.T) {
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{SlowRatio: 1, SlowDelay: 4 * time.Second}))
		fast := newClient(t, url, func(c *config.Huawei) { c.HTTPTimeout = time.Second })
		_, err := fast.ListPage(ctx, wideWindow(0, 10))
		ae := apiError(t, err)
		assert.Equal(t, huawei.KindTransport, ae.Kind)
		assert.Contains(t, ae.Error(), "HUAWEI_HTTP_TIMEOUT")
		require.NoError(t, sim.SetKnobs(hwsim.Knobs{}))
	})
	t.Run("a closed port is a retryable transport error", func(t *testing.T) {
		dead := newClient(t, "http://127.0.0.1:1")
		_, err := dead.ListPage(ctx, wideWindow(0, 10))
		assert.Equal(t, huawei.KindTransport, apiError(t, err).Kind)
	})
}

func TestThrottleHonoursRateAndRetryAfter(t *testing.T) {
	sim, url := newSim(t, 60, hwsim.Knobs{TMSRate: 20})
	c := newClient(t, url, func(c *config.Huawei) { c.TMSRate = 20 })
	start := time.Now()
	n := 0
	for _, r := range sim.Resources() {
		if r.TMSResourceType == "" {
			continue
		}
		_, err := c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
		require.NoError(t, err, "the client-side limit keeps under the server's")
		n++
		if n == 30 {
			break
		}
	}
	assert.Zero(t, sim.Stats().APIs["tms.show"].Throttled)
	assert.GreaterOrEqual(t, time.Since(start), 1200*time.Millisecond, "30 calls at 20/s take over a second")
}
