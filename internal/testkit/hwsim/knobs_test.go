package hwsim_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

func firstVM(t *testing.T, sim *hwsim.Simulator) hwsim.Resource {
	t.Helper()
	for r := range sim.All() {
		if r.TMSResourceType == "ecs" {
			return r
		}
	}
	t.Fatal("no VM in the dataset")
	return hwsim.Resource{}
}

func showRaw(t *testing.T, base string, vm hwsim.Resource, c creds) rawResponse {
	t.Helper()
	return rawCall(t, base, "GET", "/v2.0/resources/"+vm.ResourceID+"/tags", map[string]any{"project_id": vm.ProjectID, "resource_type": "ecs"}, "", c)
}

func TestTMSRateLimit(t *testing.T) {
	sim, base := newSim(t, 100, func(o *hwsim.Options) { o.Knobs.TMSRate = 2 })
	vm := firstVM(t, sim)
	var statuses []int
	for range 6 {
		res := showRaw(t, base, vm, goodCreds)
		statuses = append(statuses, res.status)
		if res.status == 429 {
			assert.Equal(t, "1", res.header.Get("Retry-After"))
			assertFlatGatewayError(t, res, "APIGW.0308")
		}
	}
	assert.Equal(t, []int{200, 200, 429, 429, 429, 429}, statuses, "burst of 2, then throttled")

	// The limit is per service: BSS is not throttled.
	_, err := bssClient(t, base, goodCreds, httpConfig()).ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
	require.NoError(t, err)
	// And the SDK sees the code.
	_, err = showTags(tmsClient(t, base, goodCreds, httpConfig()), vm, "ecs")
	serviceError(t, err, 429, "APIGW.0308")

	time.Sleep(600 * time.Millisecond) // one token at 2/s
	assert.Equal(t, 200, showRaw(t, base, vm, goodCreds).status)
	assert.Equal(t, int64(5), sim.Stats().APIs[hwsim.APITMSShow].Throttled)
}

func TestRateLimitIgnoresUnauthenticated(t *testing.T) {
	sim, base := newSim(t, 50, func(o *hwsim.Options) { o.Knobs.BSSRate = 1 })
	for range 5 {
		res := rawCall(t, base, "POST", bssPath, nil, `{}`, creds{testAK, "wrong", testDomain})
		require.Equal(t, 401, res.status)
	}
	assert.Equal(t, 200, rawCall(t, base, "POST", bssPath, nil, `{}`, goodCreds).status)
	assert.Equal(t, 429, rawCall(t, base, "POST", bssPath, nil, `{}`, goodCreds).status)
	st := sim.Stats().APIs[hwsim.APIBSSList]
	assert.Equal(t, hwsim.APIStats{Requests: 7, OK: 1, Unauthorized: 5, Throttled: 1}, st)
}

func TestErrorAndThrottleRatios(t *testing.T) {
	sim, base := newSim(t, 50, func(o *hwsim.Options) { o.Knobs.ErrorRatio = 1 })
	vm := firstVM(t, sim)
	_, err := bssClient(t, base, goodCreds, httpConfig()).ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
	serviceError(t, err, 500, "CBC.0999")
	res := showRaw(t, base, vm, goodCreds)
	assert.Equal(t, 500, res.status)
	assert.JSONEq(t, `{"error":{"error_code":"TMS.0001","error_msg":"System error."}}`, string(res.body))
	// Authentication comes first.
	assert.Equal(t, 401, showRaw(t, base, vm, creds{testAK, "wrong", testDomain}).status)

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{ThrottleRatio: 1}))
	res = showRaw(t, base, vm, goodCreds)
	assert.Equal(t, 429, res.status)
	assert.Equal(t, "1", res.header.Get("Retry-After"))
	assertFlatGatewayError(t, res, "APIGW.0308")

	require.NoError(t, sim.SetKnobs(hwsim.Knobs{}))
	assert.Equal(t, 200, showRaw(t, base, vm, goodCreds).status)

	st := sim.Stats()
	assert.Equal(t, int64(1), st.APIs[hwsim.APIBSSList].ServerErrors)
	assert.Equal(t, hwsim.APIStats{Requests: 4, OK: 1, ServerErrors: 1, Unauthorized: 1, Throttled: 1}, st.APIs[hwsim.APITMSShow])
	sim.ResetStats()
	assert.Equal(t, hwsim.APIStats{}, sim.Stats().Total())
}

func TestSlowRatioGoesPastClientTimeout(t *testing.T) {
	sim, base := newSim(t, 50, func(o *hwsim.Options) { o.Knobs.SlowRatio = 1; o.Knobs.SlowDelay = 5 * time.Second })
	client := bssClient(t, base, goodCreds, httpConfig().WithTimeout(300*time.Millisecond))
	start := time.Now()
	_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
	require.Error(t, err)
	var se *sdkerr.ServiceResponseError
	assert.False(t, errors.As(err, &se), "a timeout, not an answer: %v", err)
	var ue *url.Error
	assert.True(t, errors.As(err, &ue) && ue.Timeout(), "want a timeout *url.Error, got %T %v", err, err)
	assert.Less(t, time.Since(start), 3*time.Second)
	// The handler notices the client went away instead of sleeping on.
	assert.Eventually(t, func() bool { return sim.Stats().APIs[hwsim.APIBSSList].Canceled == 1 }, 3*time.Second, 20*time.Millisecond)
	assert.Equal(t, int64(1), sim.Stats().APIs[hwsim.APIBSSList].Slow)
}

func TestLatencyAndJitter(t *testing.T) {
	sim, base := newSim(t, 50, func(o *hwsim.Options) {
		o.Knobs.Latency = 80 * time.Millisecond
		o.Knobs.Jitter = 40 * time.Millisecond
	})
	for range 3 {
		start := time.Now()
		res := rawCall(t, base, "POST", bssPath, nil, `{}`, goodCreds)
		d := time.Since(start)
		assert.Equal(t, 200, res.status)
		assert.GreaterOrEqual(t, d, 80*time.Millisecond)
		assert.Less(t, d, time.Second)
	}
	// Latency applies to refused requests too: it is the network's.
	start := time.Now()
	assert.Equal(t, 401, rawCall(t, base, "POST", bssPath, nil, `{}`, creds{testAK, "x", testDomain}).status)
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)
	assert.Equal(t, int64(4), sim.Stats().APIs[hwsim.APIBSSList].Requests)
}

func TestSetKnobsValidation(t *testing.T) {
	sim, _ := newSim(t, 10)
	good := hwsim.Knobs{Latency: time.Millisecond, TMSRate: 5}
	require.NoError(t, sim.SetKnobs(good))
	for _, bad := range []hwsim.Knobs{
		{ErrorRatio: 2}, {SlowRatio: -0.1}, {BSSRate: -1}, {Jitter: 2 * time.Hour},
		{SlowDelay: -time.Second}, {ForbiddenResourceIDs: []string{""}},
	} {
		err := sim.SetKnobs(bad)
		require.Error(t, err, "%+v", bad)
		assert.True(t, strings.HasPrefix(err.Error(), "knobs: "), err.Error())
	}
	assert.Equal(t, good.Latency, sim.Knobs().Latency, "a refused SetKnobs changes nothing")
	assert.Equal(t, good.TMSRate, sim.Knobs().TMSRate)
}

func TestKnobsJSON(t *testing.T) {
	k := hwsim.Knobs{Latency: 20 * time.Millisecond, Jitter: time.Second, BSSRate: 10, TMSRate: 2.5, ErrorRatio: 0.1, ThrottleRatio: 0.2, SlowRatio: 0.3, SlowDelay: time.Minute, ForbiddenResourceIDs: []string{"a"}}
	data, err := json.Marshal(k)
	require.NoError(t, err)
	assert.JSONEq(t, `{"latency":"20ms","jitter":"1s","bss_rate":10,"tms_rate":2.5,"error_ratio":0.1,"throttle_ratio":0.2,"slow_ratio":0.3,"slow_delay":"1m0s","forbidden_resource_ids":["a"]}`, string(data))
	var back hwsim.Knobs
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, k, back)

	// A partial document patches.
	require.NoError(t, json.Unmarshal([]byte(`{"error_ratio":0.5,"latency":"5ms"}`), &back))
	assert.Equal(t, 0.5, back.ErrorRatio)
	assert.Equal(t, 5*time.Millisecond, back.Latency)
	assert.Equal(t, 10.0, back.BSSRate)

	for doc, want := range map[string]string{
		`{"latency":"fast"}`: `latency "fast" is not a Go duration`,
		`{"latency":20}`:     "latency",
		`{"eror_ratio":1}`:   "eror_ratio",
	} {
		err := json.Unmarshal([]byte(doc), &back)
		require.Error(t, err, doc)
		assert.Contains(t, err.Error(), want)
	}
}
