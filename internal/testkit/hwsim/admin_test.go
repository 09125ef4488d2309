package hwsim_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

func admin(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	res := doRaw(t, req)
	return res.status, res.body
}

func decodeInto[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(data, &v), string(data))
	return v
}

func TestAdminKnobsTakeEffectMidRun(t *testing.T) {
	sim, base := newSim(t, 200)
	client := bssClient(t, base, goodCreds, httpConfig())
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
			if err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		}
	})
	require.Eventually(t, func() bool { return ok.Load() > 5 }, 5*time.Second, 5*time.Millisecond)
	assert.Zero(t, failed.Load())

	status, body := admin(t, "PUT", base+"/_hwsim/knobs", `{"error_ratio":1,"latency":"1ms"}`)
	require.Equal(t, 200, status, string(body))
	k := decodeInto[hwsim.Knobs](t, body)
	assert.Equal(t, 1.0, k.ErrorRatio)
	assert.Equal(t, time.Millisecond, k.Latency)
	require.Eventually(t, func() bool { return failed.Load() > 5 }, 5*time.Second, 5*time.Millisecond)

	status, _ = admin(t, "PUT", base+"/_hwsim/knobs", `{"error_ratio":0}`)
	require.Equal(t, 200, status)
	okBefore := ok.Load()
	require.Eventually(t, func() bool { return ok.Load() > okBefore+5 }, 5*time.Second, 5*time.Millisecond)
	close(stop)
	wg.Wait()

	_, body = admin(t, "GET", base+"/_hwsim/knobs", "")
	assert.JSONEq(t, `{"latency":"1ms","jitter":"0s","bss_rate":0,"tms_rate":0,"error_ratio":0,"throttle_ratio":0,"slow_ratio":0,"slow_delay":"0s","forbidden_resource_ids":[]}`, string(body))
	st := sim.Stats().APIs[hwsim.APIBSSList]
	assert.Equal(t, failed.Load(), st.ServerErrors)
	assert.Equal(t, ok.Load(), st.OK)
}

func TestAdminKnobsInvalid(t *testing.T) {
	sim, base := newSim(t, 10)
	for doc, want := range map[string]string{
		`{"error_ratio":1.5}`: "error_ratio 1.5 out of range 0..1",
		`{"latency":"soon"}`:  `latency "soon" is not a Go duration`,
		`{"bogus":1}`:         "bogus",
		`{"bss_rate":"fast"}`: "bss_rate",
	} {
		status, body := admin(t, "PUT", base+"/_hwsim/knobs", doc)
		assert.Equal(t, 400, status, doc)
		assert.Contains(t, decodeInto[map[string]string](t, body)["error"], want, doc)
	}
	assert.Equal(t, hwsim.Knobs{}, sim.Knobs())
}

func TestAdminStatsAndHealth(t *testing.T) {
	sim, base := newSim(t, 30)
	rawCall(t, base, "POST", bssPath, nil, `{}`, goodCreds)
	rawCall(t, base, "POST", bssPath, nil, `{"limit":501}`, goodCreds)

	status, body := admin(t, "GET", base+"/_hwsim/stats", "")
	require.Equal(t, 200, status)
	st := decodeInto[hwsim.Stats](t, body)
	assert.Equal(t, hwsim.APIStats{Requests: 2, OK: 1, BadRequest: 1}, st.APIs[hwsim.APIBSSList])
	assert.Contains(t, string(body), `"bad_request":1`)
	assert.Len(t, st.APIs, 16) // 5 listing and tag APIs, 11 renewal APIs

	status, _ = admin(t, "POST", base+"/_hwsim/stats/reset", "")
	assert.Equal(t, 204, status)
	assert.Equal(t, hwsim.APIStats{}, sim.Stats().Total())

	status, body = admin(t, "GET", base+"/_hwsim/healthz", "")
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"status":"ok","resources":30}`, string(body))

	status, body = admin(t, "GET", base+"/_hwsim/info", "")
	assert.Equal(t, 200, status)
	info := decodeInto[hwsim.Info](t, body)
	assert.Equal(t, int64(42), info.Seed)
	assert.True(t, testEpoch.Equal(info.Epoch))
	assert.Equal(t, testDomain, info.DomainID)
	assert.Equal(t, sim.Projects(), info.Projects)
	assert.Zero(t, sim.Stats().Total().Requests, "admin calls are not counted")

	// Unknown API paths get a gateway 404 with a request id.
	status, body = admin(t, "GET", base+"/v3/nothing", "")
	assert.Equal(t, 404, status)
	assert.Equal(t, "APIGW.0101", decodeInto[map[string]string](t, body)["error_code"])
}

func TestAdminResourcesStreamAndMutations(t *testing.T) {
	sim, base := newSim(t, 500)

	status, body := admin(t, "POST", base+"/_hwsim/resources/remove", `{"count":20}`)
	require.Equal(t, 200, status, string(body))
	removed := decodeInto[struct {
		IDs       []string `json:"ids"`
		Resources int      `json:"resources"`
	}](t, body)
	assert.Len(t, removed.IDs, 20)
	assert.Equal(t, 480, removed.Resources)

	id := sim.Resources()[0].ResourceID
	status, body = admin(t, "POST", base+"/_hwsim/resources/remove", `{"ids":["`+id+`","unknown"]}`)
	require.Equal(t, 200, status)
	assert.JSONEq(t, `{"ids":["`+id+`"],"resources":479}`, string(body))

	status, body = admin(t, "POST", base+"/_hwsim/resources/add", `{"count":7}`)
	require.Equal(t, 200, status)
	added := decodeInto[struct {
		IDs       []string `json:"ids"`
		Resources int      `json:"resources"`
	}](t, body)
	assert.Len(t, added.IDs, 7)
	assert.Equal(t, 486, added.Resources)

	for path, doc := range map[string]string{
		"add": `{"count":0}`, "remove": `{"count":1,"ids":[]}`,
	} {
		status, body = admin(t, "POST", base+"/_hwsim/resources/"+path, doc)
		assert.Equal(t, 400, status, path)
		assert.NotEmpty(t, decodeInto[map[string]string](t, body)["error"])
	}
	status, _ = admin(t, "POST", base+"/_hwsim/resources/add", `{"count":1000000}`)
	assert.Equal(t, 400, status, "over the cap")

	// The stream is what the Go API says, line by line.
	resp, err := http.Get(base + "/_hwsim/resources")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "application/x-ndjson; charset=utf-8", resp.Header.Get("Content-Type"))
	want := sim.Resources()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		got := decodeInto[hwsim.Resource](t, sc.Bytes())
		require.Less(t, n, len(want))
		require.Equal(t, want[n].ResourceID, got.ResourceID)
		require.Equal(t, want[n].Tags, got.Tags)
		require.True(t, want[n].ExpireTime.Equal(got.ExpireTime))
		n++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, len(want), n)

	status, body = admin(t, "GET", base+"/_hwsim/resources/"+added.IDs[0], "")
	require.Equal(t, 200, status)
	assert.Equal(t, added.IDs[0], decodeInto[hwsim.Resource](t, body).ResourceID)
	status, _ = admin(t, "GET", base+"/_hwsim/resources/"+id, "")
	assert.Equal(t, 404, status, "removed")
}

func TestStartAndClose(t *testing.T) {
	sim := newPlain(t, 1, 10)
	srv, err := sim.Start(t.Context(), "127.0.0.1:0")
	require.NoError(t, err)
	resp, err := http.Get(srv.URL + "/_hwsim/healthz")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Len(t, resp.Header.Get("X-Request-Id"), 32)
	require.NoError(t, srv.Close())
	_, err = http.Get(srv.URL + "/_hwsim/healthz")
	assert.Error(t, err, "closed")
}
