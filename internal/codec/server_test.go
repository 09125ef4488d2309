package codec_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"expiry-sync/internal/codec"
)

// serve starts a codec server with opts.
func serve(t *testing.T, opts codec.ServerOptions) *httptest.Server {
	c, err := codec.New(key)
	require.NoError(t, err)
	srv := httptest.NewServer(codec.Handler(c, opts))
	t.Cleanup(srv.Close)
	return srv
}

// send sends a request and drains the answer.
func send(t *testing.T, method, url string, body []byte, headers map[string]string) *http.Response {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// payloads is a valid /encode body.
func payloads(t *testing.T) []byte {
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{
		{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)},
	}})
	require.NoError(t, err)
	return b
}

func TestCORSAllowsTheUIsOriginsOnly(t *testing.T) {
	srv := serve(t, codec.ServerOptions{Origins: codec.DefaultOrigins})
	for _, origin := range []string{"http://localhost:8233", "http://127.0.0.1:8233"} {
		resp := send(t, http.MethodOptions, srv.URL+"/decode", nil, map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
		})
		assert.Equal(t, http.StatusOK, resp.StatusCode, origin)
		assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"), "both names of the loopback by default")
		assert.Equal(t, "Content-Type,X-Namespace,Authorization", resp.Header.Get("Access-Control-Allow-Headers"), "as Temporal's samples")
		assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, resp.Header.Values("Vary"), "Origin", "caches keep one answer per origin")
	}
	resp := send(t, http.MethodOptions, srv.URL+"/decode", nil, map[string]string{"Origin": "http://evil.example"})
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "another origin is not allowed")

	list, err := codec.ParseOrigins("https://temporal.example.com, http://localhost:8080")
	require.NoError(t, err)
	srv = serve(t, codec.ServerOptions{Origins: list})
	resp = send(t, http.MethodPost, srv.URL+"/encode", payloads(t), map[string]string{"Origin": "http://localhost:8080"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://localhost:8080", resp.Header.Get("Access-Control-Allow-Origin"), "a listed origin")
	resp = send(t, http.MethodPost, srv.URL+"/encode", payloads(t), map[string]string{"Origin": "http://localhost:8233"})
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "the list replaces the defaults")
}

func TestParseOriginsNamesTheBadOne(t *testing.T) {
	for _, bad := range []string{"localhost:8233", "http://localhost:8233/", "ftp://x", "http://u:p@x", "http://x?y=1", ""} {
		_, err := codec.ParseOrigins("http://ok:1," + bad)
		assert.ErrorContains(t, err, `"`+bad+`" is not an origin: allowed http(s)://host[:port] without a path`, bad)
	}
}

func TestATokenIsRequiredWhenSet(t *testing.T) {
	const token = "codec-token-0123456789"
	srv := serve(t, codec.ServerOptions{Origins: codec.DefaultOrigins, Token: token})
	for name, auth := range map[string]string{
		"none": "", "wrong": "Bearer codec-token-0123456788", "prefix": "Bearer codec-token",
		"longer": "Bearer " + token + "0", "other scheme": "Basic " + token, "bare token": token,
	} {
		headers := map[string]string{}
		if auth != "" {
			headers["Authorization"] = auth
		}
		resp := send(t, http.MethodPost, srv.URL+"/decode", payloads(t), headers)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", name)
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		resp := send(t, http.MethodPost, srv.URL+"/decode", payloads(t), map[string]string{"Authorization": auth})
		assert.Equal(t, http.StatusOK, resp.StatusCode, auth)
	}
	resp := send(t, http.MethodOptions, srv.URL+"/decode", nil, map[string]string{"Origin": "http://localhost:8233"})
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a preflight carries no credentials")

	open := serve(t, codec.ServerOptions{})
	resp = send(t, http.MethodPost, open.URL+"/decode", payloads(t), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "no token set: none needed")
}

func TestABodyOverTheLimitIs413(t *testing.T) {
	srv := serve(t, codec.ServerOptions{})
	big := append([]byte(`{"payloads":[{"data":"`), bytes.Repeat([]byte("A"), codec.MaxBody)...)
	big = append(big, `"}]}`...)
	resp := send(t, http.MethodPost, srv.URL+"/encode", big, nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	under := []byte(`{"payloads":[{"data":"` + strings.Repeat("A", codec.MaxBody-100) + `"}]}`)
	resp = send(t, http.MethodPost, srv.URL+"/encode", under, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "just under the limit")
}

func TestTheServerHasTimeouts(t *testing.T) {
	srv := codec.Server("127.0.0.1:0", http.NotFoundHandler())
	assert.Positive(t, srv.ReadHeaderTimeout)
	assert.Positive(t, srv.ReadTimeout)
	assert.Positive(t, srv.WriteTimeout)
	assert.Positive(t, srv.IdleTimeout)
}
