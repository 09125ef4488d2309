package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
)

// TestWorkerLogsAndMetricsHoldNoSecrets runs worker processes at debug
// level in JSON, with payload encryption on, first with a wrong secret key
// (failures logged) then with the right one (a whole sync), and scans their
// logs, /metrics and /readyz for every secret.
func TestWorkerLogsAndMetricsHoldNoSecrets(t *testing.T) {
	const wrong = "wrong-secret-Kq2vX8pL1wK4mN7rT9yU"
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	port, err := freeTCPPort()
	require.NoError(t, err)
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("LOG_LEVEL", "debug")
	t.Setenv("METRICS_LISTEN", "127.0.0.1:"+port)
	s := newStack(t, stackOptions{resources: 200, seed: 53, workerProcess: true, payloadKey: key})
	secrets := []string{testSK, wrong, key}

	s.cfg.Huawei.SecretKey = wrong
	bad := s.startWorkerProcess()
	code, out, errOut := s.starter("sync", "--expire-days", "30", "--wait")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	bad.stop()

	s.cfg.Huawei.SecretKey = testSK
	s.startWorkerProcess()
	code, out, errOut = s.starter(syncArgs("--wait")...)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	scraped := map[string]string{}
	for _, path := range []string{"/metrics", "/readyz"} {
		resp, err := http.Get("http://127.0.0.1:" + port + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
		scraped[path] = string(b)
	}
	assert.Contains(t, scraped["/metrics"], `expiry_sync_rows_written_total{account="`+config.DefaultAccount+`"}`)

	for _, log := range s.workerLogs {
		b, err := os.ReadFile(log)
		require.NoError(t, err)
		scraped[log] = string(b)
		debug := 0
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var entry map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &entry), "a JSON line: %s", line)
			if entry["level"] == "DEBUG" {
				debug++
			}
		}
		assert.Positive(t, debug, "LOG_LEVEL=debug reaches the log")
	}
	for where, text := range scraped {
		for _, secret := range secrets {
			assert.NotContains(t, text, secret, "a secret in %s", where)
		}
	}
}
