package e2e

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"expiry-sync/internal/config"
	"expiry-sync/internal/testkit/testenv"
)

// frontendName is the only name in the frontend's certificate (no IP): a
// client must set TEMPORAL_TLS_SERVER_NAME, as behind a load balancer.
const frontendName = "frontend.e2e.test"

// frontendProxy is a Temporal frontend as a hosted cluster offers it: TLS
// with a certificate of the test's own CA, and every gRPC call must carry
// "authorization: Bearer <key>". Accepted calls go on to the dev server over
// h2c (gRPC is HTTP/2); refused ones get gRPC's Unauthenticated, as Temporal
// Cloud answers a wrong key.
type frontendProxy struct {
	addr    string
	ca      *testenv.CA
	key     string
	refused atomic.Int64
	mu      sync.Mutex
	calls   map[string]int // accepted calls by gRPC method
}

// newFrontendProxy starts a frontend that wants key; with mutualTLS it wants
// instead a client certificate of its CA (key then is "").
func newFrontendProxy(t *testing.T, key string, mutualTLS bool) *frontendProxy {
	p := &frontendProxy{ca: testenv.NewCA(t, "frontend-ca"), key: key, calls: map[string]int{}}
	cert := p.ca.Server("frontend", frontendName)
	upstream := &url.URL{Scheme: "http", Host: devServer.FrontendHostPort()}
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	forward := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			r.Out.Header.Del("Authorization") // the key stops here, as at a real edge
		},
		Transport:     h2c,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}
	if mutualTLS {
		tlsConfig.ClientAuth, tlsConfig.ClientCAs = tls.RequireAndVerifyClientCert, p.ca.Pool
	}
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, forward) }),
		TLSConfig: tlsConfig,
		// Handshakes the wrong-CA cases abort are expected: keep them quiet.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *frontendProxy) serve(w http.ResponseWriter, r *http.Request, forward http.Handler) {
	if r.ProtoMajor != 2 || (p.key != "" && r.Header.Get("Authorization") != "Bearer "+p.key) {
		p.refused.Add(1)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", strconv.Itoa(int(codes.Unauthenticated)))
		w.Header().Set("Grpc-Message", "API key missing or not valid")
		w.WriteHeader(http.StatusOK)
		return
	}
	p.mu.Lock()
	p.calls[r.URL.Path]++
	p.mu.Unlock()
	forward.ServeHTTP(w, r)
}

// accepted counts the calls of a gRPC method (e.g.
// "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution")
// that came with the right key and went on to the server.
func (p *frontendProxy) accepted(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

func (p *frontendProxy) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		n += c
	}
	return n
}

// connect points a configuration at the proxy, with the right settings.
func (p *frontendProxy) connect(t *config.Temporal) {
	t.Address = p.addr
	t.APIKey = config.Secret(p.key)
	t.TLS = config.TemporalTLS{ServerCACertPath: p.ca.CertFile, ServerName: frontendName}
}

// env is the same settings as the variables a worker or a starter reads
// (the API key empty, that is unset, for a mutual-TLS frontend).
func (p *frontendProxy) env() map[string]string {
	return map[string]string{
		"TEMPORAL_ADDRESS": p.addr, "TEMPORAL_API_KEY": p.key,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH": p.ca.CertFile, "TEMPORAL_TLS_SERVER_NAME": frontendName,
	}
}
