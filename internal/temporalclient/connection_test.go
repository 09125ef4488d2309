package temporalclient

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"expiry-sync/internal/config"
)

// frontend is a WorkflowService that answers GetSystemInfo (what a dial
// calls) and records each call's headers.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu    sync.Mutex
	calls []metadata.MD
}

func (f *frontend) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.calls = append(f.calls, md.Copy())
	f.mu.Unlock()
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (f *frontend) last() metadata.MD {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return metadata.MD{}
	}
	return f.calls[len(f.calls)-1]
}

func startFrontend(t *testing.T) (*frontend, string) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &frontend{}
	srv := grpc.NewServer()
	workflowservice.RegisterWorkflowServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return f, lis.Addr().String()
}

// TestOptionsFromAProfileAndTheVariables: the options a temp temporal.toml
// profile and the TEMPORAL_* variables give, through config's loading.
func TestOptionsFromAProfileAndTheVariables(t *testing.T) {
	noCLIConfig(t)
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.edge]
address = "edge.example:7233"
namespace = "from-profile"
api_key = "profile-key-2Wc"
[profile.edge.grpc_meta]
x-tenant = "acme"
[profile.edge.codec]
endpoint = "http://127.0.0.1:8234"
auth = "Bearer codec-token"
`), 0o600))
	t.Setenv("TEMPORAL_CONFIG_FILE", file)
	t.Setenv("TEMPORAL_PROFILE", "edge")
	t.Setenv("TEMPORAL_NAMESPACE", "from-variable")
	t.Setenv("TEMPORAL_GRPC_META_X_TRACE_ROUTE", "blue")
	t.Setenv("TEMPORAL_CLIENT_AUTHORITY", "frontend.internal")
	t.Setenv("TEMPORAL_CODEC_ENDPOINT", "http://127.0.0.1:9999")
	cfg, err := config.LoadTemporal()
	require.NoError(t, err)

	dc := converter.GetDefaultDataConverter()
	opts, err := Options(cfg, client.Options{DataConverter: dc})
	require.NoError(t, err)
	assert.Equal(t, "edge.example:7233", opts.HostPort, "the profile's")
	assert.Equal(t, "from-variable", opts.Namespace, "the variable's")
	require.NotNil(t, opts.HeadersProvider)
	headers, err := opts.HeadersProvider.GetHeaders(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x-tenant": "acme", "x-trace-route": "blue"}, headers)
	assert.Equal(t, "frontend.internal", opts.ConnectionOptions.Authority)
	require.NotNil(t, opts.Credentials, "the profile's api_key")
	require.NotNil(t, opts.ConnectionOptions.TLS, "an API key turns TLS on")
	assert.Same(t, dc, opts.DataConverter, "never the remote codec: payloads are encoded in-process")
}

// TestDialSendsTheHeadersAndARotatedKey: a dial sends the gRPC metadata, the
// authority and the key of TEMPORAL_API_KEY_FILE; once the file changes, the
// same client sends the new key within APIKeyFileTTL, without a restart.
func TestDialSendsTheHeadersAndARotatedKey(t *testing.T) {
	noCLIConfig(t)
	f, addr := startFrontend(t)
	keyFile := filepath.Join(t.TempDir(), "api_key")
	require.NoError(t, os.WriteFile(keyFile, []byte("rotating-key-one\n"), 0o600))
	t.Setenv("TEMPORAL_ADDRESS", addr)
	t.Setenv("TEMPORAL_TLS", "false")
	t.Setenv("TEMPORAL_API_KEY_FILE", keyFile)
	t.Setenv("TEMPORAL_GRPC_META_X_TENANT", "acme")
	t.Setenv("TEMPORAL_CLIENT_AUTHORITY", "frontend.internal")
	cfg, err := config.LoadTemporal()
	require.NoError(t, err)

	c, err := Dial(context.Background(), cfg, client.Options{})
	require.NoError(t, err)
	defer c.Close()
	md := f.last()
	assert.Equal(t, []string{"Bearer rotating-key-one"}, md.Get("authorization"))
	assert.Equal(t, []string{"acme"}, md.Get("x-tenant"))
	assert.Equal(t, []string{"frontend.internal"}, md.Get(":authority"))

	require.NoError(t, os.WriteFile(keyFile, []byte("rotating-key-two\n"), 0o600))
	deadline := time.Now().Add(config.APIKeyFileTTL + 5*time.Second)
	for {
		_, err := c.WorkflowService().GetSystemInfo(context.Background(), &workflowservice.GetSystemInfoRequest{})
		require.NoError(t, err)
		if got := f.last().Get("authorization"); len(got) == 1 && got[0] == "Bearer rotating-key-two" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the rotated key was not sent within %v: %v", config.APIKeyFileTTL, f.last().Get("authorization"))
		time.Sleep(250 * time.Millisecond)
	}

	opts, err := Options(cfg, client.Options{})
	require.NoError(t, err)
	got := explain(status.Error(codes.Unauthenticated, "keys rotating-key-one and rotating-key-two refused"), cfg, opts).Error()
	assert.NotContains(t, got, "rotating-key-one")
	assert.NotContains(t, got, "rotating-key-two")
	assert.Contains(t, got, "the API key was refused")
}
