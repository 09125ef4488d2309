package huawei_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"expiry-sync/internal/config"
	"expiry-sync/internal/huawei"
	"expiry-sync/internal/testkit/hwsim"
)

// pairTruth is every resource of a TMS type in a project, with its tags ({}
// for none), as the simulator holds them.
func pairTruth(sim *hwsim.Simulator, project, tmsType string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for r := range sim.All() {
		if r.ProjectID == project && r.TMSResourceType == tmsType {
			tags := r.Tags
			if tags == nil {
				tags = map[string]string{}
			}
			out[r.ResourceID] = tags
		}
	}
	return out
}

// bulkAll runs BulkTags to the end and returns what the sink received.
func bulkAll(t *testing.T, c *huawei.Client, project, tmsType string, from huawei.BulkCursor) (map[string]map[string]string, huawei.BulkResult, error) {
	t.Helper()
	got := map[string]map[string]string{}
	res, err := c.BulkTags(context.Background(), project, tmsType, from, func(page []huawei.TaggedResource, _ huawei.BulkCursor) error {
		for _, r := range page {
			require.NotNil(t, r.Tags)
			got[r.ResourceID] = r.Tags
		}
		return nil
	})
	return got, res, err
}

func firstProject(t *testing.T, sim *hwsim.Simulator) string {
	t.Helper()
	for r := range sim.All() {
		if r.TMSResourceType == "ecs" {
			return r.ProjectID
		}
	}
	t.Fatal("no VM")
	return ""
}

func TestBulkTagsIsCompleteUnderEveryEmptyFilterBehaviour(t *testing.T) {
	sim, url := newSim(t, 3000, hwsim.Knobs{})
	project := firstProject(t, sim)
	want := pairTruth(sim, project, "ecs")
	untagged := 0
	for _, tags := range want {
		if len(tags) == 0 {
			untagged++
		}
	}
	require.Positive(t, untagged)
	for _, tc := range []struct {
		name      string
		knobs     hwsim.Knobs
		strategy  string
		wantCalls func(n int) bool
	}{
		{"a: lists all", hwsim.Knobs{}, huawei.StrategyEmptyFilter, func(n int) bool { return n <= 2 }},
		{"b: tagged only", hwsim.Knobs{BulkEmptyFilter: hwsim.BulkTaggedOnly}, huawei.StrategyTaggedUntagged, func(n int) bool { return n <= 4 }},
		{"c: refused", hwsim.Knobs{BulkEmptyFilter: hwsim.BulkRefused}, huawei.StrategyPerKey, func(n int) bool { return n > 3 }},
		{"limit 200 and no total_count", hwsim.Knobs{BulkMaxLimit: 200, BulkOmitTotalCount: true}, huawei.StrategyEmptyFilter, func(n int) bool { return n >= 2 }},
		{"tagged only, limit 200, no total_count", hwsim.Knobs{BulkEmptyFilter: hwsim.BulkTaggedOnly, BulkMaxLimit: 200, BulkOmitTotalCount: true}, huawei.StrategyTaggedUntagged, func(n int) bool { return n >= 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, sim.SetKnobs(tc.knobs))
			c := newClient(t, url)
			got, res, err := bulkAll(t, c, project, "ecs", huawei.BulkCursor{})
			require.NoError(t, err)
			require.Empty(t, res.Unavailable)
			assert.Equal(t, want, got, "every resource of the pair, with its exact tags")
			assert.Equal(t, tc.strategy, res.Strategy)
			assert.Equal(t, len(want), res.Resources, "each resource handed on once")
			assert.Equal(t, int64(res.Calls), c.Stats().Requests.Load())
			assert.True(t, tc.wantCalls(res.Calls), "%d calls", res.Calls)
			t.Logf("%d resources (%d untagged) in %d calls", len(want), untagged, res.Calls)
		})
	}
}

func TestBulkTagsUnavailable(t *testing.T) {
	sim, url := newSim(t, 1500, hwsim.Knobs{})
	project := firstProject(t, sim)
	for name, knobs := range map[string]hwsim.Knobs{
		"d: endpoint missing":   {BulkEmptyFilter: hwsim.BulkMissing},
		"type in errors[]":      {UnservedTMSTypes: []string{"ecs"}},
		"refused, over budget ": {BulkEmptyFilter: hwsim.BulkRefused},
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, sim.SetKnobs(knobs))
			got, res, err := bulkAll(t, newClient(t, url), project, "ecs", huawei.BulkCursor{Budget: 20})
			require.NoError(t, err)
			assert.NotEmpty(t, res.Unavailable)
			assert.LessOrEqual(t, res.Calls, 3, "found out cheaply")
			if knobs.UnservedTMSTypes == nil && knobs.BulkEmptyFilter == hwsim.BulkRefused {
				assert.Contains(t, res.Unavailable, "more than the 20 of reading the resources one by one")
				assert.Empty(t, got)
			}
		})
	}
}

func TestBulkTagsResumesFromItsCursor(t *testing.T) {
	sim, url := newSim(t, 3000, hwsim.Knobs{BulkEmptyFilter: hwsim.BulkRefused, BulkMaxLimit: 200})
	project := firstProject(t, sim)
	want := pairTruth(sim, project, "ecs")
	c := newClient(t, url)
	got := map[string]map[string]string{}
	var saved huawei.BulkCursor
	stop := errors.New("worker died")
	pages := 0
	_, err := c.BulkTags(context.Background(), project, "ecs", huawei.BulkCursor{}, func(page []huawei.TaggedResource, next huawei.BulkCursor) error {
		for _, r := range page {
			got[r.ResourceID] = r.Tags
		}
		saved = next
		if pages++; pages == 5 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, "keys", saved.Phase, "stopped inside the per-key listing")
	rest, res, err := bulkAll(t, c, project, "ecs", saved)
	require.NoError(t, err)
	for id, tags := range rest {
		got[id] = tags
	}
	assert.Equal(t, want, got)
	assert.Equal(t, huawei.StrategyPerKey, res.Strategy)
	assert.Equal(t, 200, saved.Limit, "the step down to 200 is remembered")
}

func TestBulkTagsPermissionIsAnError(t *testing.T) {
	sim, url := newSim(t, 200, hwsim.Knobs{TMSPermissionDenied: true})
	_, _, err := bulkAll(t, newClient(t, url), firstProject(t, sim), "ecs", huawei.BulkCursor{})
	ae := apiError(t, err)
	assert.Equal(t, huawei.KindForbidden, ae.Kind)
	assert.Equal(t, "tms:resources:list", ae.IAMAction)
}

func TestBulkTagsThrottledByTMS(t *testing.T) {
	sim, url := newSim(t, 200, hwsim.Knobs{TMSThrottle403Ratio: 1})
	_, _, err := bulkAll(t, newClient(t, url), firstProject(t, sim), "ecs", huawei.BulkCursor{})
	ae := apiError(t, err)
	assert.Equal(t, huawei.KindThrottled, ae.Kind)
	assert.Equal(t, "TMS.0006", ae.Code)
	assert.True(t, ae.Kind.Retryable())
	assert.Empty(t, ae.IAMAction, "throttling is not a missing permission")
}

func TestBulkPagesInFlightStayWithinTheWorkersBound(t *testing.T) {
	sim, err := hwsim.New(hwsim.Options{Seed: 5, Resources: 3000, AccessKey: ak, SecretKey: sk, DomainID: domain,
		Knobs: hwsim.Knobs{Latency: 20 * time.Millisecond, BulkMaxLimit: 200}, FullCatalog: true})
	require.NoError(t, err)
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		// The call leaves the count before its first byte goes out: once
		// the client has the answer it may make its next call, while this
		// handler would still be running.
		rec := httptest.NewRecorder()
		sim.Handler().ServeHTTP(rec, r)
		inFlight.Add(-1)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)

	// Two accounts' clients of one worker share its bound.
	pages := semaphore.NewWeighted(2)
	var clients []*huawei.Client
	for range 2 {
		c, err := huawei.New(config.Huawei{AccessKey: ak, SecretKey: sk, DomainID: domain, BSSEndpoint: srv.URL, TMSEndpoint: srv.URL,
			HTTPTimeout: 5 * time.Second}, huawei.WithBulkPages(pages))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	projects := map[string]bool{}
	for r := range sim.All() {
		projects[r.ProjectID] = true
	}
	var g errgroup.Group
	listings := 0
	for project := range projects {
		for _, typ := range []string{"ecs", "disk"} {
			c := clients[listings%2]
			listings++
			g.Go(func() error {
				got, _, err := bulkAll(t, c, project, typ, huawei.BulkCursor{})
				if err == nil && !assert.Equal(t, pairTruth(sim, project, typ), got, "%s/%s", project, typ) {
					err = errors.New("inexact")
				}
				return err
			})
		}
	}
	require.NoError(t, g.Wait())
	require.Greater(t, listings, 2, "more listings than the bound, at once")
	assert.Equal(t, int64(2), peak.Load(), "calls in flight at most: the bound, reached")
}
