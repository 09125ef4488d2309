package hwsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	tmsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

// callAll runs the five simulated APIs through the real SDK clients and
// returns their errors, keyed by API name.
func callAll(t *testing.T, sim *hwsim.Simulator, url string, c creds, hc *config.HttpConfig) map[string]error {
	t.Helper()
	var vm hwsim.Resource
	for _, r := range sim.Resources() {
		if r.TMSResourceType == "ecs" {
			vm = r
			break
		}
	}
	require.NotEmpty(t, vm.ResourceID, "dataset has no VM")
	b, tc := bssClient(t, url, c, hc), tmsClient(t, url, c, hc)
	_, errBSS := b.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{Limit: ptr(int32(5))}})
	_, errShow := tc.ShowResourceTag(&tmsmodel.ShowResourceTagRequest{ResourceId: vm.ResourceID, ProjectId: &vm.ProjectID, ResourceType: "ecs"})
	_, errFilter := tc.ListResource(&tmsmodel.ListResourceRequest{Body: &tmsmodel.ResqTagResource{ProjectId: &vm.ProjectID, ResourceTypes: []string{"ecs"}, Tags: []tmsmodel.Tag{}}})
	_, errTags := tc.ListTags(&tmsmodel.ListTagsRequest{ProjectId: vm.ProjectID, ResourceTypes: "ecs", TagTypes: tmsmodel.GetListTagsRequestTagTypesEnum().RESOURCE})
	_, errProviders := tc.ListProviders(&tmsmodel.ListProvidersRequest{})
	return map[string]error{hwsim.APIBSSList: errBSS, hwsim.APITMSShow: errShow, hwsim.APITMSFilter: errFilter,
		hwsim.APITMSTags: errTags, hwsim.APITMSProviders: errProviders}
}

func TestSDKCredentialsAccepted(t *testing.T) {
	sim, url := newSim(t, 200)
	errs := callAll(t, sim, url, goodCreds, httpConfig())
	for api, err := range errs {
		assert.NoError(t, err, api)
	}
	for api, st := range sim.Stats().APIs {
		if _, called := errs[api]; !called { // the renewal APIs: renew_test.go
			assert.Zero(t, st.Requests, api)
			continue
		}
		assert.Equal(t, int64(1), st.Requests, api)
		assert.Equal(t, int64(1), st.OK, api)
	}
}

func TestSDKCredentialsRefused(t *testing.T) {
	cases := []struct {
		name   string
		creds  creds
		status int
		code   string
	}{
		{"wrong SK", creds{testAK, "not-the-secret", testDomain}, 401, "APIGW.0301"},
		{"wrong AK", creds{"UNKNOWNACCESSKEY0000", testSK, testDomain}, 401, "APIGW.0301"},
		{"other domain", creds{testAK, testSK, "ffffffffffffffffffffffffffffffff"}, 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim, url := newSim(t, 200)
			errs := callAll(t, sim, url, tc.creds, httpConfig())
			for api, err := range errs {
				code := tc.code
				if code == "" { // a domain mismatch is a service error
					code = "TMS.0004"
					if api == hwsim.APIBSSList {
						code = "CBC.0151"
					}
				}
				serviceError(t, err, tc.status, code)
			}
			total := sim.Stats().Total()
			assert.Equal(t, int64(5), total.Requests)
			assert.Zero(t, total.OK)
			if tc.status == 401 {
				assert.Equal(t, int64(5), total.Unauthorized)
			} else {
				assert.Equal(t, int64(5), total.Forbidden)
			}
		})
	}
}

func TestSkewedDateRefused(t *testing.T) {
	sim, url := newSim(t, 100)
	for _, tc := range []struct {
		skew time.Duration
		ok   bool
	}{{-20 * time.Minute, false}, {16 * time.Minute, false}, {-10 * time.Minute, true}, {10 * time.Minute, true}} {
		date := time.Now().UTC().Add(tc.skew).Format("20060102T150405Z")
		client := bssClient(t, url, goodCreds, httpConfig())
		// The SDK signs with the X-Sdk-Date it finds among the request
		// headers: the signature is valid and only the date is off.
		client.HcClient.WithExtraHeaders(map[string]string{"X-Sdk-Date": date})
		_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{}})
		if tc.ok {
			assert.NoError(t, err, "skew %s", tc.skew)
		} else {
			serviceError(t, err, 401, "APIGW.0301")
		}
	}
	assert.Equal(t, int64(2), sim.Stats().APIs[hwsim.APIBSSList].Unauthorized)
}

// tamperTransport changes the body after the SDK signed it.
type tamperTransport struct{}

func (tamperTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	body = bytes.Replace(body, []byte(`"limit":5`), []byte(`"limit":6`), 1)
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return http.DefaultTransport.RoundTrip(r)
}

func TestTamperedBodyRefused(t *testing.T) {
	_, url := newSim(t, 100)
	client := bssClient(t, url, goodCreds, httpConfig().WithHttpRoundTripper(tamperTransport{}))
	_, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &bssmodel.QueryResourcesReq{Limit: ptr(int32(5))}})
	se := serviceError(t, err, 401, "APIGW.0301")
	assert.Contains(t, se.ErrorMessage, "signature")
}

// TestSignatureMatchesSDKSigner covers what the typed clients never send:
// awkward paths and queries, repeated values, missing headers.
func TestSignatureMatchesSDKSigner(t *testing.T) {
	sim, url := newSim(t, 50)
	r := sim.Resources()[0]
	// A resource id with characters the canonical URI must escape still
	// verifies; the answer is then a 404 from TMS, not a 401.
	res := rawCall(t, url, "GET", "/v2.0/resources/no such id+é/tags",
		map[string]any{"project_id": r.ProjectID, "resource_type": "ecs", "z": "a b+c/é", "a": "", "multi": []string{"b", "a", "a~"}}, "", goodCreds)
	assert.Equal(t, 404, res.status, string(res.body))
	assert.JSONEq(t, `{"error":{"error_code":"TMS.0005","error_msg":"The resources requested cannot be found."}}`, string(res.body))

	// A signed request without X-Domain-Id is refused.
	res = rawCall(t, url, "POST", "/v2/orders/suscriptions/resources/query", nil, `{}`, creds{testAK, testSK, ""})
	assert.Equal(t, 401, res.status)
	assertFlatGatewayError(t, res, "APIGW.0301")

	// A known AK without a usable X-Sdk-Date: the date is checked before
	// the signature.
	for _, date := range []string{"", "2026-01-15T08:00:00Z"} {
		req, err := http.NewRequest("POST", url+"/v2/orders/suscriptions/resources/query", strings.NewReader(`{}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+testAK+", SignedHeaders=x-domain-id;x-sdk-date, Signature=00")
		req.Header.Set("X-Domain-Id", testDomain)
		if date != "" {
			req.Header.Set("X-Sdk-Date", date)
		}
		res = doRaw(t, req)
		assert.Equal(t, 401, res.status)
		assertFlatGatewayError(t, res, "APIGW.0301")
	}

	// No Authorization at all.
	req, err := http.NewRequest("POST", url+"/v2/orders/suscriptions/resources/query", strings.NewReader(`{}`))
	require.NoError(t, err)
	res = doRaw(t, req)
	assert.Equal(t, 401, res.status)
	assertFlatGatewayError(t, res, "APIGW.0301")
}

func assertFlatGatewayError(t *testing.T, res rawResponse, code string) {
	t.Helper()
	var body map[string]string
	require.NoError(t, json.Unmarshal(res.body, &body), string(res.body))
	assert.Equal(t, code, body["error_code"])
	assert.NotEmpty(t, body["error_msg"])
	assert.Equal(t, res.header.Get("X-Request-Id"), body["request_id"])
	assert.Len(t, body, 3, "flat gateway body: %s", res.body)
}

func TestSecretKeyNeverEchoed(t *testing.T) {
	sim, url := newSim(t, 20)
	res := rawCall(t, url, "POST", "/v2/orders/suscriptions/resources/query", nil, `{}`, creds{testAK, "wrong", testDomain})
	assert.NotContains(t, string(res.body), testSK)
	opts := hwsim.Options{AccessKey: testAK, SecretKey: testSK}
	for _, v := range []string{mustJSON(t, sim.Knobs()), mustJSON(t, sim.Stats()), mustJSON(t, sim.Info()),
		fmt.Sprintf("%v %+v %#v %s", opts, opts, opts, opts), fmt.Sprintf("%v %+v %#v", sim, sim, sim)} {
		assert.NotContains(t, v, testSK)
		assert.NotContains(t, v, strings.Trim(fmt.Sprintf("%#v", []byte(testSK)), "[]byte{}"))
	}
}
