package temporalclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"expiry-sync/internal/config"
	"expiry-sync/internal/testkit/testenv"
)

const apiKey = "tc-api-key-7Hk2"

// noCLIConfig hides the machine's own temporal.toml from a test.
func noCLIConfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

func TestOptionsKeepTheCallersOwnOnTopOfTheConnection(t *testing.T) {
	noCLIConfig(t)
	ca := testenv.NewCA(t, "opts")
	dc := converter.GetDefaultDataConverter()
	own := client.Options{Identity: "me@host", DataConverter: dc, HostPort: "ignored:1", Namespace: "ignored"}
	tc := config.Temporal{Address: "front:7233", Namespace: "ns", APIKey: apiKey, TLS: config.TemporalTLS{ServerCACertPath: ca.CertFile, ServerName: "front.example"}}

	opts, err := Options(tc, own)
	require.NoError(t, err)
	assert.Equal(t, "me@host", opts.Identity)
	assert.Same(t, dc, opts.DataConverter)
	assert.Equal(t, "front:7233", opts.HostPort)
	assert.Equal(t, "ns", opts.Namespace)
	require.NotNil(t, opts.Credentials, "the API key")
	require.NotNil(t, opts.ConnectionOptions.TLS)
	assert.Equal(t, "front.example", opts.ConnectionOptions.TLS.ServerName)
	assert.True(t, opts.ConnectionOptions.TLS.RootCAs.Equal(ca.Pool), "the CA of TEMPORAL_TLS_SERVER_CA_CERT_PATH only")

	tc.TLS.Enabled = "false"
	opts, err = Options(tc, own)
	require.NoError(t, err)
	assert.True(t, opts.ConnectionOptions.TLSDisabled, "TEMPORAL_TLS=false wins over the API key")

	opts, err = Options(config.Temporal{}, own)
	require.NoError(t, err)
	assert.Equal(t, config.DefaultTemporalAddress, opts.HostPort)
	assert.Equal(t, config.DefaultTemporalNamespace, opts.Namespace)
	assert.Nil(t, opts.ConnectionOptions.TLS, "plain gRPC by default")
	assert.Nil(t, opts.Credentials)
}

// TestOptionsCopyEveryConnectionField guards an upgrade of envconfig: a
// field its ToClientOptions sets that Options does not copy would be lost.
func TestOptionsCopyEveryConnectionField(t *testing.T) {
	ca := testenv.NewCA(t, "fields")
	cert := ca.Client("c")
	p := envconfig.ClientConfigProfile{
		Address: "a:1", Namespace: "n", APIKey: "k", Authority: "auth", GRPCMeta: map[string]string{"x": "y"},
		TLS: &envconfig.ClientConfigTLS{ClientCertPath: cert.CertFile, ClientKeyPath: cert.KeyFile, ServerCACertPath: ca.CertFile, ServerName: "s"},
	}
	conn, err := p.ToClientOptions(envconfig.ToClientOptionsRequest{})
	require.NoError(t, err)
	copied := map[string]bool{"HostPort": true, "Namespace": true, "Credentials": true, "HeadersProvider": true, "ConnectionOptions": true}
	v := reflect.ValueOf(conn)
	for i := range v.NumField() {
		if !v.Field(i).IsZero() {
			assert.True(t, copied[v.Type().Field(i).Name], "client.Options.%s is set by envconfig but not copied", v.Type().Field(i).Name)
		}
	}
	conn.ConnectionOptions.TLS, conn.ConnectionOptions.Authority, conn.ConnectionOptions.TLSDisabled = nil, "", false
	assert.True(t, reflect.ValueOf(conn.ConnectionOptions).IsZero(), "a ConnectionOptions field is set by envconfig but not copied: %+v", conn.ConnectionOptions)
}

func TestDialFailureIsOneLineNamingTheSetting(t *testing.T) {
	withKey := client.Options{HostPort: "h:7233", Namespace: "ns", Credentials: client.NewAPIKeyStaticCredentials(apiKey)}
	plain := client.Options{HostPort: "h:7233", Namespace: "ns"}
	for name, tc := range map[string]struct {
		err  error
		cfg  config.Temporal
		opts client.Options
		want string
	}{
		"key refused": {
			err: fmt.Errorf("failed reaching server: %w", status.Error(codes.Unauthenticated, "bad key "+apiKey)),
			cfg: config.Temporal{APIKey: apiKey}, opts: withKey,
			want: "cannot connect to Temporal at h:7233: the API key was refused: check TEMPORAL_API_KEY (or the profile's api_key) (failed reaching server: rpc error: code = Unauthenticated desc = bad key [redacted])",
		},
		"no credentials": {
			err: status.Error(codes.Unauthenticated, "missing"), opts: plain,
			want: "the server wants credentials: set TEMPORAL_API_KEY, or a client certificate",
		},
		"certificate refused": {
			err:  status.Error(codes.Unauthenticated, "Request unauthorized."),
			opts: client.Options{HostPort: "h:7233", ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{Certificates: []tls.Certificate{{}}}}},
			want: "the client certificate was refused: check TEMPORAL_TLS_CLIENT_CERT_PATH",
		},
		"permission": {
			err: status.Error(codes.PermissionDenied, "Request unauthorized."), opts: withKey,
			want: "these credentials may not use namespace ns: check TEMPORAL_NAMESPACE",
		},
		"unknown CA": {
			err:  errors.New(`last connection error: connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`),
			cfg:  config.Temporal{TLS: config.TemporalTLS{ServerCACertPath: "/etc/ca.pem"}},
			want: "the server's certificate is not signed by the CA of TEMPORAL_TLS_SERVER_CA_CERT_PATH=/etc/ca.pem: give the CA that signed it",
		},
		"name": {
			err:  errors.New("tls: failed to verify certificate: x509: certificate is valid for frontend.test, not 127.0.0.1"),
			want: "set TEMPORAL_TLS_SERVER_NAME to a name the certificate holds",
		},
		"plaintext server": {
			err:  errors.New("authentication handshake failed: tls: first record does not look like a TLS handshake"),
			want: "the server does not speak TLS: set TEMPORAL_TLS=false",
		},
		"client certificate": {
			err:  errors.New("connection error: desc = \"error reading server preface: remote error: tls: certificate required\""),
			want: "the server refused this client's certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH",
		},
		"closed right after the TLS handshake": {
			err:  errors.New("failed reaching server: write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe"),
			opts: client.Options{HostPort: "h:7233", ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{}}},
			want: "the server closed the TLS connection (it may want a client certificate it trusts): set TEMPORAL_TLS_CLIENT_CERT_PATH",
		},
		"TLS server, plain client": {
			err: errors.New("connection error: desc = \"error reading server preface: EOF\""), opts: plain,
			want: "the server closed the connection: if it wants TLS, set TEMPORAL_TLS=true",
		},
		"nothing answers": {
			err: fmt.Errorf("failed reaching server: %w", context.DeadlineExceeded), opts: plain,
			want: "no answer: check TEMPORAL_ADDRESS (host:port of the frontend)",
		},
	} {
		t.Run(name, func(t *testing.T) {
			opts := tc.opts
			if opts.HostPort == "" {
				opts = client.Options{HostPort: "h:7233", ConnectionOptions: client.ConnectionOptions{TLS: &tls.Config{}}}
			}
			got := explain(tc.err, tc.cfg, opts).Error()
			assert.Contains(t, got, tc.want)
			assert.NotContains(t, got, apiKey)
			assert.NotContains(t, got, "\n")
		})
	}
}

// A key read from a temporal.toml profile is scrubbed like the variable's.
func TestDialFailureScrubsTheProfilesAPIKey(t *testing.T) {
	noCLIConfig(t)
	const profileKey = "profile-api-key-Q9zX"
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte("[profile.cloud]\naddress = \"ns.tmprl.cloud:7233\"\nnamespace = \"ns\"\napi_key = \""+profileKey+"\"\n"), 0o600))
	cfg := config.Temporal{ConfigFile: file, Profile: "cloud"}
	opts, err := Options(cfg, client.Options{})
	require.NoError(t, err)
	require.NotNil(t, opts.Credentials, "the profile's key is sent")

	got := explain(status.Error(codes.Unauthenticated, "api key "+profileKey+" is not valid"), cfg, opts).Error()
	assert.NotContains(t, got, profileKey)
	assert.Contains(t, got, "api key [redacted] is not valid")
}
