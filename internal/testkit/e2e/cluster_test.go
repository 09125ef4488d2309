package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/testkit/testenv"
)

const (
	frontendKey = "e2e-temporal-api-key-9fK2pQ"
	wrongKey    = "e2e-wrong-api-key-Lm3xV"

	workflowService = "/temporal.api.workflowservice.v1.WorkflowService/"
)

// TestSyncThroughTLSFrontendWithAPIKey: the worker and the starter reach
// Temporal only through a TLS frontend that wants an API key, as Temporal
// Cloud does; a whole sync completes through it, and the official CLI's
// temporal.toml profile reaches it too.
func TestSyncThroughTLSFrontendWithAPIKey(t *testing.T) {
	p := newFrontendProxy(t, frontendKey, false)
	s := newStack(t, stackOptions{resources: 300, seed: 11, temporal: p.connect})
	for k, v := range p.env() {
		t.Setenv(k, v)
	}

	code, out, errOut := s.starter("sync", "--expire-days", "30", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := syncIDFrom(t, out)
	log := s.syncLog(id)
	require.Equal(t, contract.StatusSuccess, log.Status)
	want := s.expected(log)
	require.NotEmpty(t, want)
	assertRows(t, s, want, id)

	for _, method := range []string{"StartWorkflowExecution", "PollWorkflowTaskQueue", "PollActivityTaskQueue", "RespondActivityTaskCompleted"} {
		assert.Positive(t, p.accepted(workflowService+method), "%s went through the frontend with the key", method)
	}
	assert.Zero(t, p.refused.Load(), "every call carried the key")

	// The CLI's own form: a profile of a temporal.toml, no connection variable.
	toml := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(toml, fmt.Appendf(nil, "[profile.e2e]\naddress = %q\nnamespace = \"default\"\napi_key = %q\n\n[profile.e2e.tls]\nserver_ca_cert_path = %q\nserver_name = %q\n",
		p.addr, frontendKey, p.ca.CertFile, frontendName), 0o600))
	for k := range p.env() {
		t.Setenv(k, "")
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", toml)
	t.Setenv("TEMPORAL_PROFILE", "e2e")
	before := p.accepted(workflowService + "DescribeWorkflowExecution")
	code, out, errOut = s.starter("status", id, "-o", "json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var st struct {
		SyncStatus string `json:"sync_status"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	assert.Equal(t, "success", st.SyncStatus)
	assert.Greater(t, p.accepted(workflowService+"DescribeWorkflowExecution"), before, "the profile's connection went through the frontend")

	// The official CLI reads the same profile the same way (for it an
	// empty variable overrides the profile's value: leave them out).
	before = p.accepted(workflowService + "DescribeWorkflowExecution")
	cmd := exec.Command(testenv.FindTemporalCLI(), "workflow", "describe", "--workflow-id", id, "--output", "json")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") || !strings.HasSuffix(kv, "=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cli, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", cli)
	assert.Contains(t, string(cli), id)
	assert.Greater(t, p.accepted(workflowService+"DescribeWorkflowExecution"), before, "the CLI went through the frontend")
	assert.Zero(t, p.refused.Load())
}

// TestWrongTemporalSettingsFailFast: a wrong key, CA, server name or TLS
// setting stops the starter and the worker at the dial, each with one line
// naming the setting to fix, and never with the key in it. An untrusted
// server never sees the key.
func TestWrongTemporalSettingsFailFast(t *testing.T) {
	p := newFrontendProxy(t, frontendKey, false)
	s := newStack(t, stackOptions{resources: 10, seed: 12, workerProcess: true, temporal: p.connect})
	impostor := testenv.NewCA(t, "impostor")
	cases := []struct {
		name       string
		env        map[string]string
		code       int
		want       string
		keyRefused bool // the frontend saw the call and refused it
	}{
		{"wrong key", map[string]string{"TEMPORAL_API_KEY": wrongKey}, 1,
			"cannot connect to Temporal at " + p.addr + ": the API key was refused: check TEMPORAL_API_KEY", true},
		{"wrong CA", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": impostor.CertFile}, 1,
			"the server's certificate is not signed by the CA of TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + impostor.CertFile, false},
		{"system CAs", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": ""}, 1,
			"not signed by a CA this client trusts: set TEMPORAL_TLS_SERVER_CA_CERT_PATH", false},
		{"no server name", map[string]string{"TEMPORAL_TLS_SERVER_NAME": ""}, 1,
			"the server's certificate is not for this name: set TEMPORAL_TLS_SERVER_NAME", false},
		{"no key", map[string]string{"TEMPORAL_API_KEY": "", "TEMPORAL_TLS": "true"}, 1,
			"the server wants credentials: set TEMPORAL_API_KEY", true},
		{"TLS off", map[string]string{"TEMPORAL_TLS": "false"}, 1,
			"the server closed the connection: if it wants TLS, set TEMPORAL_TLS=true", false},
		{"CA file missing", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/nonexistent/ca.pem"}, 2,
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH=/nonexistent/ca.pem cannot be read: no such file or directory", false},
	}
	for _, c := range cases {
		t.Run("starter/"+c.name, func(t *testing.T) {
			for k, v := range p.env() {
				t.Setenv(k, v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			refused, forwarded := p.refused.Load(), p.total()
			code, out, errOut := s.starter("list")
			assert.Equal(t, c.code, code, errOut)
			assert.Empty(t, out)
			assertOneLine(t, errOut, c.want)
			assert.Equal(t, forwarded, p.total(), "no call reached the server")
			if c.keyRefused {
				assert.Greater(t, p.refused.Load(), refused, "the frontend refused the call")
			} else {
				assert.Equal(t, refused, p.refused.Load(), "the call never reached the frontend's check")
			}
		})
	}
	for _, c := range cases[:2] {
		t.Run("worker/"+c.name, func(t *testing.T) {
			env := append(workerEnv(s.cfg), "LOG_FORMAT=text")
			for k, v := range p.env() {
				env = append(env, k+"="+v)
			}
			for k, v := range c.env {
				env = append(env, k+"="+v)
			}
			code, log := runWorkerOnce(t, env)
			assert.Equal(t, 1, code, log)
			var errorLines []string
			for line := range strings.Lines(log) {
				if strings.Contains(line, "level=ERROR") {
					errorLines = append(errorLines, line)
				}
			}
			require.Len(t, errorLines, 1, log)
			assert.Contains(t, errorLines[0], `msg="worker cannot start"`)
			assertOneLine(t, errorLines[0], c.want)
			assert.NotContains(t, log, frontendKey)
			assert.NotContains(t, log, wrongKey)
		})
	}
}

// assertOneLine checks that text is one line holding want and no key.
func assertOneLine(t *testing.T, text, want string) {
	t.Helper()
	t.Log(strings.TrimSpace(text))
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(text), "\n")+1, "one line: %q", text)
	assert.Contains(t, text, want)
	assert.NotContains(t, text, frontendKey)
	assert.NotContains(t, text, wrongKey)
}

// runWorkerOnce runs a worker process that is expected to stop by itself;
// the bound only keeps a hanging one from hanging the test.
func runWorkerOnce(t *testing.T, env []string) (code int, log string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, workerBinary(t))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "the worker did not stop by itself:\n%s", out)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	require.NoError(t, err)
	return 0, string(out)
}

// TestStarterThroughMutualTLS: a self-hosted frontend that wants a client
// certificate of its CA (mTLS) instead of a key.
func TestStarterThroughMutualTLS(t *testing.T) {
	p := newFrontendProxy(t, "", true)
	s := newStack(t, stackOptions{resources: 10, seed: 13, workerProcess: true, temporal: p.connect})
	for k, v := range p.env() {
		t.Setenv(k, v)
	}
	code, out, errOut := s.starter("list")
	assert.Equal(t, 1, code, "no client certificate")
	assert.Empty(t, out)
	assertOneLine(t, errOut, "set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH") // refused, or closed before the alert is read
	assert.Zero(t, p.total())

	stranger := testenv.NewCA(t, "stranger").Client("worker")
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", stranger.CertFile)
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", stranger.KeyFile)
	code, _, errOut = s.starter("list")
	assert.Equal(t, 1, code, "a certificate of another CA")
	assertOneLine(t, errOut, "TEMPORAL_TLS_CLIENT_CERT_PATH")
	assert.Zero(t, p.total())

	client := p.ca.Client("worker")
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", client.CertFile)
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", client.KeyFile)
	code, out, errOut = s.starter("list", "-o", "json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Positive(t, p.accepted(workflowService+"ListWorkflowExecutions"), "the listing went through the frontend")
}
