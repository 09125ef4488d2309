package huawei_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/inventory"
	"expiry-sync/internal/testkit/hwsim"
)

// wire records what reaches the simulator: headers and bodies.
type wire struct {
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	path   string
	header http.Header
	body   []byte
}

func (w *wire) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		w.mu.Lock()
		w.requests = append(w.requests, recorded{r.URL.Path, r.Header.Clone(), body})
		w.mu.Unlock()
		next.ServeHTTP(rw, r)
	})
}

func (w *wire) last(t *testing.T) recorded {
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(t, w.requests)
	return w.requests[len(w.requests)-1]
}

func (w *wire) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.requests)
}

func newRecordedSim(t *testing.T, n int, knobs hwsim.Knobs) (*hwsim.Simulator, string, *wire) {
	t.Helper()
	sim, err := hwsim.New(hwsim.Options{Seed: 5, Resources: n, AccessKey: ak, SecretKey: sk, DomainID: domain, Knobs: knobs, FullCatalog: true})
	require.NoError(t, err)
	w := &wire{}
	srv := httptest.NewServer(w.wrap(sim.Handler()))
	t.Cleanup(srv.Close)
	return sim, srv.URL, w
}

func TestTemporaryKeysSignTheSecurityToken(t *testing.T) {
	_, url, w := newRecordedSim(t, 10, hwsim.Knobs{})
	c := newClient(t, url, func(c *config.Huawei) { c.SecurityToken = "sts-token-Zx9" })
	_, err := c.ListPage(context.Background(), wideWindow(0, 10))
	require.NoError(t, err, "the simulator verifies the signature over every signed header")
	got := w.last(t)
	assert.Equal(t, "sts-token-Zx9", got.header.Get("X-Security-Token"))
	assert.Contains(t, got.header.Get("Authorization"), "x-security-token", "the token is a signed header")
	assert.Equal(t, domain, got.header.Get("X-Domain-Id"))
}

func TestTheProviderChainFindsTheSDKVariables(t *testing.T) {
	_, url, w := newRecordedSim(t, 10, hwsim.Knobs{})
	t.Setenv("HUAWEICLOUD_SDK_AK", ak)
	t.Setenv("HUAWEICLOUD_SDK_SK", sk)
	t.Setenv("HUAWEICLOUD_SDK_DOMAIN_ID", "")
	chain := func(c *config.Huawei) { c.Credentials, c.AccessKey, c.SecretKey = config.CredentialsChain, "", "" }
	c := newClient(t, url, chain)
	page, err := c.ListPage(context.Background(), wideWindow(0, 10))
	require.NoError(t, err)
	assert.NotEmpty(t, page.Resources)
	assert.Contains(t, w.last(t).header.Get("Authorization"), "Access="+ak)
	assert.Equal(t, domain, w.last(t).header.Get("X-Domain-Id"), "the account's domain id, set without asking IAM")

	t.Run("keys of another account", func(t *testing.T) {
		t.Setenv("HUAWEICLOUD_SDK_DOMAIN_ID", "another-domain")
		cfg := config.Huawei{Credentials: config.CredentialsChain, DomainID: domain, BSSEndpoint: url, TMSEndpoint: url, HTTPTimeout: time.Second}
		_, err := huawei.New(cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "credentials chain found the keys of account another-domain, but the account to sign for is "+domain)
		assert.NotContains(t, err.Error(), sk)
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Setenv("HUAWEICLOUD_SDK_SK", "not-the-secret")
		c := newClient(t, url, chain)
		_, err := c.ListPage(context.Background(), wideWindow(0, 10))
		assert.Equal(t, huawei.KindAuth, apiError(t, err).Kind)
	})
}

func TestAPartnerListsItsCustomerAndReadsNoTags(t *testing.T) {
	const customer = "c0ffee00c0ffee00c0ffee00c0ffee00"
	sim, url, w := newRecordedSim(t, 30, hwsim.Knobs{})
	c := newClient(t, url, func(c *config.Huawei) { c.DomainID, c.PartnerDomainID = customer, domain })
	page, err := c.ListPage(context.Background(), wideWindow(0, 10))
	require.NoError(t, err)
	assert.NotEmpty(t, page.Resources)
	got := w.last(t)
	assert.Equal(t, domain, got.header.Get("X-Domain-Id"), "the partner's keys sign for the partner")
	var body map[string]any
	require.NoError(t, json.Unmarshal(got.body, &body))
	assert.Equal(t, customer, body["customer_id"], "BSS lists the customer's resources")
	assert.Equal(t, customer, c.CustomerID())

	calls := w.count()
	warnings, err := c.RestrictCatalog(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"tags are not read: " + huawei.PartnerNoTags}, warnings)
	for _, r := range sim.Resources() {
		res, err := c.ResourceTags(context.Background(), inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
		require.NoError(t, err)
		assert.Equal(t, inventory.TagsUnsupported, res.Status)
		_, typed := c.Catalog().Lookup(r.ResourceTypeCode, r.IsMainResource == 1)
		assert.False(t, typed, "no type of a customer has tags the partner can read")
	}
	assert.Equal(t, calls, w.count(), "TMS is never called for a partner's customer")
	assert.Equal(t, huawei.PartnerNoTags, c.TagsUnsupported())

	own := newClient(t, url)
	assert.Empty(t, own.TagsUnsupported())
	page, err = own.ListPage(context.Background(), wideWindow(0, 10))
	require.NoError(t, err)
	assert.NotContains(t, string(w.last(t).body), "customer_id", "an account listing itself sends no customer_id")
}

// fakeLimiter records what the client asks of a shared limiter.
type fakeLimiter struct {
	mu     sync.Mutex
	waits  map[string]int
	pauses map[string][]time.Duration
}

func (f *fakeLimiter) Wait(_ context.Context, api string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits[api]++
	return nil
}

func (f *fakeLimiter) Pause(_ context.Context, api string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pauses[api] = append(f.pauses[api], d)
}

func TestALimiterPacesEveryCallAndHearsOfThrottling(t *testing.T) {
	sim, url, w := newRecordedSim(t, 40, hwsim.Knobs{})
	lim := &fakeLimiter{waits: map[string]int{}, pauses: map[string][]time.Duration{}}
	// The per-process rates would allow one call a minute: the limiter
	// replaces them, so the calls below do not wait for them.
	cfg := config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain, BSSEndpoint: url, TMSEndpoint: url,
		HTTPTimeout: 2 * time.Second, BSSRate: 1.0 / 60, TMSRate: 1.0 / 60}
	c, err := huawei.New(cfg, huawei.WithLimiter(lim))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 3 {
		_, err := c.ListPage(ctx, wideWindow(i*10, 10))
		require.NoError(t, err)
	}
	tagged := 0
	for _, r := range sim.Resources() {
		res, err := c.ResourceTags(ctx, inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode})
		require.NoError(t, err)
		if res.Status == inventory.TagsOK {
			tagged++
		}
		if tagged == 5 {
			break
		}
	}
	assert.Equal(t, 3, lim.waits[huawei.APIBSS])
	assert.Equal(t, 3+lim.waits[huawei.APITMS], w.count(), "one wait per call on the wire")
	assert.GreaterOrEqual(t, lim.waits[huawei.APITMS], 5)

	// A throttled answer pauses the shared limiter for its Retry-After.
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ThrottleRatio: 1}))
	_, err = c.ListPage(ctx, wideWindow(0, 10))
	require.Error(t, err)
	assert.Equal(t, huawei.KindThrottled, apiError(t, err).Kind)
	require.Len(t, lim.pauses[huawei.APIBSS], 1)
	assert.Positive(t, lim.pauses[huawei.APIBSS][0])
	assert.Empty(t, lim.pauses[huawei.APITMS])
}

func TestLimiterAPIsAreDistinct(t *testing.T) {
	assert.NotEqual(t, huawei.APIBSS, huawei.APITMS)
	assert.False(t, strings.ContainsAny(huawei.APIBSS+huawei.APITMS, " '"), "they key database rows")
}
