package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/testenv"
)

const profileKey = "profile-api-key-Xq9w"

// noCLIConfig hides the machine's own temporal.toml from a test.
func noCLIConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
}

// writeTOML writes a temporal.toml and points TEMPORAL_CONFIG_FILE at it.
func writeTOML(t *testing.T, text string) string {
	path := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	t.Setenv("TEMPORAL_CONFIG_FILE", path)
	return path
}

func TestTemporalDefaultsWithoutProfileOrVariables(t *testing.T) {
	noCLIConfig(t)
	c, err := LoadStarter()
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7233", c.Temporal.Address)
	assert.Equal(t, "default", c.Temporal.Namespace)
	assert.Equal(t, "expiry-sync", c.Temporal.TaskQueue)
	require.NoError(t, c.Temporal.Validate())
	p, err := c.Temporal.ClientProfile()
	require.NoError(t, err)
	assert.Nil(t, p.TLS, "plain gRPC, as the dev server")
	assert.Empty(t, p.APIKey)
}

func TestTemporalProfileUnderVariables(t *testing.T) {
	noCLIConfig(t)
	ca := testenv.NewCA(t, "profile")
	writeTOML(t, fmt.Sprintf(`
[profile.default]
address = "localhost:7233"

[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = %q
[profile.cloud.tls]
server_ca_cert_path = %q
server_name = "ns.acct.tmprl.cloud"
`, profileKey, ca.CertFile))
	t.Setenv("TEMPORAL_PROFILE", "cloud")
	t.Setenv("TEMPORAL_NAMESPACE", "other.acct")
	t.Setenv("TEMPORAL_ADDRESS", "") // empty counts as unset

	c, err := LoadStarter()
	require.NoError(t, err)
	assert.Equal(t, "ns.acct.tmprl.cloud:7233", c.Temporal.Address, "the profile's")
	assert.Equal(t, "other.acct", c.Temporal.Namespace, "the variable wins")
	require.NoError(t, c.Temporal.Validate())
	p, err := c.Temporal.ClientProfile()
	require.NoError(t, err)
	assert.Equal(t, profileKey, p.APIKey)
	require.NotNil(t, p.TLS)
	assert.Equal(t, ca.CertFile, p.TLS.ServerCACertPath)
	assert.Equal(t, "ns.acct.tmprl.cloud", p.TLS.ServerName)

	t.Setenv("TEMPORAL_API_KEY", "variable-key")
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "front.example")
	c, err = LoadStarter()
	require.NoError(t, err)
	p, err = c.Temporal.ClientProfile()
	require.NoError(t, err)
	assert.Equal(t, "variable-key", p.APIKey)
	assert.Equal(t, "front.example", p.TLS.ServerName)
	assert.Equal(t, ca.CertFile, p.TLS.ServerCACertPath, "the profile's, where no variable overrides it")
}

func TestTemporalAPIKeyFileAndItsRedaction(t *testing.T) {
	noCLIConfig(t)
	workerEnv(t)
	file := filepath.Join(t.TempDir(), "api_key")
	require.NoError(t, os.WriteFile(file, []byte(profileKey+"\n"), 0o600))
	t.Setenv("TEMPORAL_API_KEY_FILE", file)
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_DATA", "-----BEGIN PRIVATE KEY-----secret")
	c, err := LoadWorker()
	require.Error(t, err, "a key without its certificate")
	assert.Equal(t, "TEMPORAL_TLS_CLIENT_KEY_DATA is set but no client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH too", err.Error())
	assert.Empty(t, c.Temporal.APIKey, "the file's key is read through APIKeyProvider")
	assert.Equal(t, []string{profileKey}, c.Temporal.APIKeys())
	for _, format := range []string{"%v", "%+v", "%#v"} {
		printed := fmt.Sprintf(format, c)
		assert.NotContains(t, printed, profileKey, format)
		assert.NotContains(t, printed, "secret", format)
	}
}

func TestBadTemporalSettingsAreNamed(t *testing.T) {
	ca := testenv.NewCA(t, "named")
	client := ca.Client("worker")
	other := testenv.NewCA(t, "other").Client("stranger")
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	for name, tc := range map[string]struct {
		env  map[string]string
		toml string // with %[1]s for the CA file
		want string
	}{
		"CA file missing": {
			env:  map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/nonexistent/ca.pem"},
			want: "TEMPORAL_TLS_SERVER_CA_CERT_PATH=/nonexistent/ca.pem cannot be read: no such file or directory",
		},
		"profile's CA file missing": {
			toml: "[profile.default.tls]\nserver_ca_cert_path = \"/nonexistent/ca.pem\"\n",
			want: `tls.server_ca_cert_path "/nonexistent/ca.pem" of profile default in `,
		},
		"CA not PEM": {
			env:  map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": notPEM},
			want: "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + notPEM + " holds no PEM certificate",
		},
		"CA path and data": {
			env:  map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_DATA": string(ca.CertPEM)},
			toml: "[profile.default.tls]\nserver_ca_cert_path = %[1]q\n",
			want: "and TEMPORAL_TLS_SERVER_CA_CERT_DATA are both set: give one",
		},
		"certificate without key": {
			env:  map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": client.CertFile},
			want: "TEMPORAL_TLS_CLIENT_CERT_PATH=" + client.CertFile + " is set but no client key: set TEMPORAL_TLS_CLIENT_KEY_PATH too",
		},
		"key of another certificate": {
			env:  map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": client.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH": other.KeyFile},
			want: "are not a certificate and its key: tls: private key does not match public key",
		},
		"TLS not a boolean": {
			env:  map[string]string{"TEMPORAL_TLS": "yes"},
			want: `TEMPORAL_TLS="yes" is not a boolean: allowed true, false, 1 or 0`,
		},
		"profile missing": {
			env:  map[string]string{"TEMPORAL_PROFILE": "prod"},
			toml: "[profile.staging]\naddress = \"s:7233\"\n[profile.dev]\n",
			want: "TEMPORAL_PROFILE=prod is not a profile of ",
		},
		"profile without file": {
			env:  map[string]string{"TEMPORAL_PROFILE": "prod"},
			want: "TEMPORAL_PROFILE=prod but ",
		},
		"config file missing": {
			env:  map[string]string{"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"},
			want: "TEMPORAL_CONFIG_FILE=/nonexistent/temporal.toml cannot be read: no such file or directory",
		},
		"TOML syntax, key not echoed": {
			toml: "[profile.default]\napi_key = " + profileKey + "\n",
			want: "is not valid TOML: line 2",
		},
	} {
		t.Run(name, func(t *testing.T) {
			noCLIConfig(t)
			workerEnv(t)
			if tc.toml != "" {
				writeTOML(t, strings.ReplaceAll(tc.toml, "%[1]q", fmt.Sprintf("%q", ca.CertFile)))
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := LoadWorker()
			require.Error(t, err)
			t.Log(err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), profileKey)
			assert.NotContains(t, err.Error(), "PRIVATE KEY")
			assert.NotContains(t, err.Error(), "\n", "one line")
			if strings.Contains(name, "profile missing") {
				assert.Contains(t, err.Error(), "allowed dev, staging")
			}
		})
	}
}

func TestTemporalClientCertificateFromProfile(t *testing.T) {
	noCLIConfig(t)
	workerEnv(t)
	ca := testenv.NewCA(t, "mtls")
	client := ca.Client("worker")
	writeTOML(t, fmt.Sprintf("[profile.default]\naddress = \"temporal.internal:7233\"\n[profile.default.tls]\nclient_cert_path = %q\nclient_key_path = %q\nserver_ca_cert_path = %q\n",
		client.CertFile, client.KeyFile, ca.CertFile))
	c, err := LoadWorker()
	require.NoError(t, err)
	assert.Equal(t, "temporal.internal:7233", c.Temporal.Address)
	assert.Equal(t, "default", c.Temporal.Namespace)
}
