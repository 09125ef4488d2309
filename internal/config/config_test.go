package config

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workerEnv sets a valid worker environment for one test.
func workerEnv(t *testing.T) {
	for k, v := range map[string]string{
		"HUAWEI_ACCESS_KEY": "AK", "HUAWEI_SECRET_KEY": "SK", "HUAWEI_DOMAIN_ID": "d0",
		"DATABASE_URL": "mysql://expiry@db:3306/expiry_sync",
	} {
		t.Setenv(k, v)
	}
}

func TestDatabasePasswordFileTakesAnyCharacter(t *testing.T) {
	workerEnv(t)
	const password = "p/a@s#s?w%o+rd:&= x"
	file := filepath.Join(t.TempDir(), "db_password")
	require.NoError(t, os.WriteFile(file, []byte(password+"\n"), 0o600))
	t.Setenv("DATABASE_PASSWORD_FILE", file)
	c, err := LoadWorker()
	require.NoError(t, err)
	u, err := url.Parse(c.DatabaseURL.Reveal())
	require.NoError(t, err)
	got, _ := u.User.Password()
	assert.Equal(t, password, got, "the URL carries the password, escaped")
	assert.Equal(t, "expiry", u.User.Username())
	assert.Equal(t, "db:3306", u.Host)
	assert.Equal(t, "/expiry_sync", u.Path)
}

func TestDatabasePasswordConflicts(t *testing.T) {
	for name, tc := range map[string]struct{ url, want string }{
		"password twice": {"mysql://expiry:old@db:3306/x", "DATABASE_URL has a password and DATABASE_PASSWORD is set too"},
		"sqlite":         {"sqlite:///tmp/x.db", "DATABASE_PASSWORD is set but DATABASE_URL is not mysql://user@host:3306/db"},
		"no user":        {"mysql://db:3306/x", "DATABASE_PASSWORD is set but DATABASE_URL is not mysql://user@host:3306/db"},
	} {
		t.Run(name, func(t *testing.T) {
			workerEnv(t)
			t.Setenv("DATABASE_URL", tc.url)
			t.Setenv("DATABASE_PASSWORD", "secret-pw")
			_, err := LoadWorker()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "secret-pw")
		})
	}
}

func TestBadLogAndMetricsSettingsAreNamed(t *testing.T) {
	for k, tc := range map[string]struct{ value, want string }{
		"LOG_FORMAT":     {"xml", `LOG_FORMAT="xml" is not a log format: allowed text or json`},
		"LOG_LEVEL":      {"verbose", `LOG_LEVEL="verbose" is not a log level: allowed debug, info, warn or error`},
		"METRICS_LISTEN": {"9464", `METRICS_LISTEN="9464" is not host:port`},
	} {
		t.Run(k, func(t *testing.T) {
			workerEnv(t)
			t.Setenv(k, tc.value)
			_, err := LoadWorker()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestJSONLoggerRedactsSecretNamedAttributes(t *testing.T) {
	var buf bytes.Buffer
	logger := Log{Format: "json", Level: "debug"}.NewLogger(&buf)
	logger.Debug("connecting", "password", "hunter2", "secret_key", "SK-1", "api_token", "T0K3N-v", "key", Secret("k3y"), "account", "d0")
	var entry map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &entry))
	for _, k := range []string{"password", "secret_key", "api_token", "key"} {
		assert.Equal(t, "[redacted]", entry[k], k)
	}
	assert.Equal(t, "d0", entry["account"])
	for _, secret := range []string{"hunter2", "SK-1", "T0K3N-v", "k3y"} {
		assert.False(t, strings.Contains(buf.String(), secret), secret)
	}
}
