package hwsim_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/global"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	bss "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2"
	bssmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/bss/v2/model"
	tms "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/tms/v1"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/hwsim"
)

const (
	testAK     = "HWSIMTESTACCESSKEY01"
	testSK     = "hwsim-test-secret-key-0123456789"
	testDomain = "d00000000000000000000000000000a1"
)

// testEpoch is fixed so that window filters in tests are reproducible; the
// gateway checks X-Sdk-Date against the wall clock, not against Epoch.
var testEpoch = time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)

type creds struct{ ak, sk, domain string }

var goodCreds = creds{testAK, testSK, testDomain}

func newSim(t testing.TB, n int, mutate ...func(*hwsim.Options)) (*hwsim.Simulator, string) {
	t.Helper()
	o := hwsim.Options{Seed: 42, Resources: n, AccessKey: testAK, SecretKey: testSK, DomainID: testDomain, Epoch: testEpoch}
	for _, m := range mutate {
		m(&o)
	}
	sim, err := hwsim.New(o)
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func httpConfig() *config.HttpConfig {
	return config.DefaultHttpConfig().WithTimeout(10 * time.Second)
}

func credentials(t testing.TB, c creds) *global.Credentials {
	t.Helper()
	cr, err := global.NewCredentialsBuilder().WithAk(c.ak).WithSk(c.sk).WithDomainId(c.domain).SafeBuild()
	require.NoError(t, err)
	return cr
}

func bssClient(t testing.TB, url string, c creds, hc *config.HttpConfig) *bss.BssClient {
	t.Helper()
	client, err := bss.BssClientBuilder().WithEndpoints([]string{url}).WithCredential(credentials(t, c)).WithHttpConfig(hc).SafeBuild()
	require.NoError(t, err)
	return bss.NewBssClient(client)
}

func tmsClient(t testing.TB, url string, c creds, hc *config.HttpConfig) *tms.TmsClient {
	t.Helper()
	client, err := tms.TmsClientBuilder().WithEndpoints([]string{url}).WithCredential(credentials(t, c)).WithHttpConfig(hc).SafeBuild()
	require.NoError(t, err)
	return tms.NewTmsClient(client)
}

// serviceError asserts err is the SDK's *sdkerr.ServiceResponseError with
// the given status and code, and that it carries a request id.
func serviceError(t testing.TB, err error, status int, code string) *sdkerr.ServiceResponseError {
	t.Helper()
	require.Error(t, err)
	var se *sdkerr.ServiceResponseError
	require.True(t, errors.As(err, &se), "want *sdkerr.ServiceResponseError, got %T: %v", err, err)
	require.Equal(t, status, se.StatusCode, "status; error: %v", err)
	require.Equal(t, code, se.ErrorCode, "error code; error: %v", err)
	require.Len(t, se.RequestId, 32, "X-Request-Id")
	return se
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// rawCall sends a request signed by the SDK's own signer, for cases the
// typed clients cannot express (raw bodies, reading headers). Query values
// are strings or []string (a repeated key).
func rawCall(t testing.TB, base, method, path string, query map[string]any, body string, c creds) rawResponse {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithEndpoint(base).WithMethod(method).WithPath(path).
		AddHeaderParam("Content-Type", "application/json").
		AddHeaderParam("User-Agent", "hwsim-test").
		AddHeaderParam("X-Domain-Id", c.domain)
	for k, v := range query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	if body != "" {
		b.WithBody("", body)
	}
	req := b.Build()
	extra, err := signer.Sign(req, c.ak, c.sk)
	require.NoError(t, err)
	for k, v := range extra {
		req.AddHeaderParam(k, v)
	}
	httpReq, err := req.ConvertRequest()
	require.NoError(t, err)
	return doRaw(t, httpReq)
}

func doRaw(t testing.TB, req *http.Request) rawResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: data}
}

func listAllBSS(t testing.TB, client *bss.BssClient, body bssmodel.QueryResourcesReq) ([]bssmodel.OrderInstanceV2, int32) {
	t.Helper()
	var out []bssmodel.OrderInstanceV2
	limit := int32(500)
	body.Limit = &limit
	for {
		offset := int32(len(out))
		body.Offset = &offset
		resp, err := client.ListPayPerUseCustomerResources(&bssmodel.ListPayPerUseCustomerResourcesRequest{Body: &body})
		require.NoError(t, err)
		require.NotNil(t, resp.Data)
		require.NotNil(t, resp.TotalCount)
		out = append(out, *resp.Data...)
		if len(*resp.Data) == 0 || len(out) >= int(*resp.TotalCount) {
			return out, *resp.TotalCount
		}
	}
}

func ptr[T any](v T) *T { return &v }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
