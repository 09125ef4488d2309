package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The profile comes from envconfig's own loader, with every TEMPORAL_*
// variable the CLI reads on top of it: gRPC metadata and authority included.
func TestTemporalProfileWithGRPCMetaAndAuthority(t *testing.T) {
	noCLIConfig(t)
	writeTOML(t, `
[profile.proxy]
address = "proxy.example:7233"
namespace = "team"
authority = "profile-authority"
[profile.proxy.grpc_meta]
x-tenant = "from-profile"
x-region = "eu"
[profile.proxy.codec]
endpoint = "http://127.0.0.1:8234"
`)
	t.Setenv("TEMPORAL_PROFILE", "proxy")
	t.Setenv("TEMPORAL_GRPC_META_X_TENANT", "from-variable")
	t.Setenv("TEMPORAL_GRPC_META_X_ROUTE_TOKEN", "route-secret-5Vb")
	t.Setenv("TEMPORAL_GRPC_META_X_REGION", "") // empty counts as unset: the profile's stays
	t.Setenv("TEMPORAL_CLIENT_AUTHORITY", "frontend.internal")

	c, err := LoadStarter()
	require.NoError(t, err)
	require.NoError(t, c.Temporal.Validate())
	assert.Equal(t, "proxy.example:7233", c.Temporal.Address)
	assert.Equal(t, "team", c.Temporal.Namespace)
	p, err := c.Temporal.ClientProfile()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x-tenant": "from-variable", "x-route-token": "route-secret-5Vb", "x-region": "eu"}, p.GRPCMeta)
	assert.Equal(t, "frontend.internal", p.Authority, "the variable wins")
	require.NotNil(t, p.Codec, "the profile's codec is loaded (for the CLI), not used by our clients")
	for _, format := range []string{"%v", "%+v", "%#v"} {
		assert.NotContains(t, fmt.Sprintf(format, c), "route-secret-5Vb", "a header may be a credential")
	}

	t.Setenv("TEMPORAL_CLIENT_AUTHORITY", "")
	c, err = LoadStarter()
	require.NoError(t, err)
	p, err = c.Temporal.ClientProfile()
	require.NoError(t, err)
	assert.Equal(t, "profile-authority", p.Authority, "empty counts as unset")
}

// TEMPORAL_API_KEY_FILE's key is read again after APIKeyFileTTL, not before;
// a file being rewritten keeps the last key; no error holds a key.
func TestAPIKeyFileIsReadAgainAfterItsTTL(t *testing.T) {
	noCLIConfig(t)
	file := filepath.Join(t.TempDir(), "api_key")
	require.NoError(t, os.WriteFile(file, []byte("key-one-8Jd\n"), 0o600))
	t.Setenv("TEMPORAL_API_KEY_FILE", file)
	c, err := LoadStarter()
	require.NoError(t, err)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	c.Temporal.apiKeyFile.now = func() time.Time { return time.Unix(0, now.Load()) }
	c.Temporal.apiKeyFile.readAt = time.Unix(0, now.Load())
	advance := func(d time.Duration) { now.Add(int64(d)) }

	copied := c.Temporal // copies share the cache
	key := copied.APIKeyProvider()
	require.NotNil(t, key)
	got := func() string {
		k, err := key(context.Background())
		require.NoError(t, err)
		return k
	}
	assert.Equal(t, "key-one-8Jd", got())

	require.NoError(t, os.WriteFile(file, []byte("key-two-3Qp\n"), 0o600))
	advance(APIKeyFileTTL - time.Millisecond)
	assert.Equal(t, "key-one-8Jd", got(), "within the TTL: not read again")
	advance(time.Millisecond)
	assert.Equal(t, "key-two-3Qp", got(), "after the TTL: the rotated key")
	assert.ElementsMatch(t, []string{"key-two-3Qp", "key-one-8Jd"}, c.Temporal.APIKeys(), "both scrubbed")
	p, err := c.Temporal.ClientProfile()
	require.NoError(t, err)
	assert.Equal(t, "key-two-3Qp", p.APIKey, "the profile's key turns TLS on")

	require.NoError(t, os.Remove(file))
	advance(APIKeyFileTTL)
	assert.Equal(t, "key-two-3Qp", got(), "a file being replaced: the last key")
	require.NoError(t, os.WriteFile(file, []byte(" \n"), 0o600))
	advance(APIKeyFileTTL)
	assert.Equal(t, "key-two-3Qp", got(), "an empty file: the last key")
	require.NoError(t, os.WriteFile(file, []byte("key-three-6Tz"), 0o600))
	advance(APIKeyFileTTL)
	assert.Equal(t, "key-three-6Tz", got())

	t.Setenv("TEMPORAL_API_KEY", "variable-key")
	c, err = LoadStarter()
	require.NoError(t, err)
	assert.Nil(t, c.Temporal.APIKeyProvider(), "TEMPORAL_API_KEY wins, sent as it is")
}

func TestAPIKeyFileMissingOrEmptyFailsAtStart(t *testing.T) {
	noCLIConfig(t)
	file := filepath.Join(t.TempDir(), "api_key")
	t.Setenv("TEMPORAL_API_KEY_FILE", file)
	_, err := LoadStarter()
	require.Error(t, err)
	assert.Equal(t, "TEMPORAL_API_KEY_FILE="+file+" cannot be read: no such file or directory", err.Error())

	require.NoError(t, os.WriteFile(file, []byte("\n"), 0o600))
	_, err = LoadStarter()
	require.Error(t, err)
	assert.Equal(t, "TEMPORAL_API_KEY_FILE="+file+" is empty: it must hold the API key", err.Error())
}
