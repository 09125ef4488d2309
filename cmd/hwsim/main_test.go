package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSK = "cmd-test-secret-key-42"

// syncBuffer is a bytes.Buffer safe for the server goroutine to write
// while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var goodEnv = map[string]string{"HWSIM_ACCESS_KEY": "AK", "HWSIM_SECRET_KEY": testSK}

func runSync(t *testing.T, args []string, e map[string]string) (int, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(t.Context(), args, env(e), &stdout, &stderr)
	return code, stderr.String()
}

func TestBadFlagsExit2(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--resources", "1000001"}, "--resources: allowed range 0..1000000"},
		{[]string{"--resources", "-1"}, "--resources"},
		{[]string{"--error-ratio", "1.5"}, "--error-ratio: allowed range 0..1"},
		{[]string{"--throttle-ratio", "-0.1"}, "--throttle-ratio"},
		{[]string{"--slow-ratio", "NaN"}, "--slow-ratio"},
		{[]string{"--bss-rate", "-1"}, "--bss-rate: allowed range 0..1e+06"},
		{[]string{"--latency", "2m"}, "--latency: allowed range 0s..1m0s"},
		{[]string{"--slow-delay", "-1s"}, "--slow-delay"},
		{[]string{"--listen", "nonsense"}, "--listen"},
		{[]string{"--epoch", "yesterday"}, "--epoch"},
		{[]string{"--latency", "soon"}, "latency"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--knobs", `{"bulk_empty_filter":"none"}`}, "--knobs: allowed a JSON object of knobs: knobs: bulk_empty_filter"},
		{[]string{"--knobs", `{"nope":1}`}, "nope"},
		{[]string{"--knobs", `{"lookup_refused":"CBC.0150","max_records":900}`}, `knobs: lookup_refused "CBC.0150" is not one of`},
		{[]string{"--knobs", `{"empty_page_offsets":[-1]}`}, "empty_page_offsets[0] is -1"},
	}
	for _, tc := range cases {
		code, stderr := runSync(t, tc.args, goodEnv)
		assert.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

func TestMissingCredentialsExit2(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "HWSIM_ACCESS_KEY is not set"},
		{map[string]string{"HWSIM_ACCESS_KEY": "AK"}, "HWSIM_SECRET_KEY or HWSIM_SECRET_KEY_FILE is not set"},
		{map[string]string{"HWSIM_ACCESS_KEY": "AK", "HWSIM_SECRET_KEY": "x", "HWSIM_SECRET_KEY_FILE": empty}, "only one of"},
		{map[string]string{"HWSIM_ACCESS_KEY": "AK", "HWSIM_SECRET_KEY_FILE": empty}, "is empty"},
		{map[string]string{"HWSIM_ACCESS_KEY": "AK", "HWSIM_SECRET_KEY_FILE": filepath.Join(dir, "missing")}, "HWSIM_SECRET_KEY_FILE"},
	}
	for _, tc := range cases {
		code, stderr := runSync(t, []string{"--listen", "127.0.0.1:0"}, tc.env)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, tc.want)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	}
}

var readyRE = regexp.MustCompile(`^hwsim listening on (http://127\.0\.0\.1:\d+) \((\d+) resources, seed (\d+)\)\n$`)

// start runs the binary's main loop in the background and waits for its
// ready line.
func start(t *testing.T, ctx context.Context, args []string, e map[string]string) (url string, stderr *syncBuffer, done chan int) {
	t.Helper()
	var stdout syncBuffer
	stderr = &syncBuffer{}
	done = make(chan int, 1)
	go func() { done <- run(ctx, args, env(e), &stdout, stderr) }()
	require.Eventually(t, func() bool { return readyRE.MatchString(stdout.String()) }, 5*time.Second, 10*time.Millisecond, "ready line; stderr: %s", stderr)
	m := readyRE.FindStringSubmatch(stdout.String())
	return m[1], stderr, done
}

func TestServesUntilCancelled(t *testing.T) {
	skFile := filepath.Join(t.TempDir(), "sk")
	require.NoError(t, os.WriteFile(skFile, []byte(testSK+"\n"), 0o600))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	url, stderr, done := start(t, ctx, []string{"--listen", "127.0.0.1:0", "--resources", "123", "--seed", "9", "--tms-rate", "5", "--latency", "1ms",
		"--knobs", `{"bulk_empty_filter":"refused","tms_rate":7,"lookup_max_records":3,"empty_page_offsets":[0]}`, "--full-catalog"},
		map[string]string{"HWSIM_ACCESS_KEY": "AK", "HWSIM_SECRET_KEY_FILE": skFile})

	resp, err := http.Get(url + "/_hwsim/info")
	require.NoError(t, err)
	var info struct {
		Seed      int64  `json:"seed"`
		Resources int    `json:"resources"`
		DomainID  string `json:"domain_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	resp.Body.Close()
	assert.Equal(t, int64(9), info.Seed)
	assert.Equal(t, 123, info.Resources)
	assert.NotEmpty(t, info.DomainID)

	resp, err = http.Get(url + "/_hwsim/knobs")
	require.NoError(t, err)
	var knobs map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&knobs))
	resp.Body.Close()
	assert.Equal(t, 7.0, knobs["tms_rate"], "--knobs patches the flags")
	assert.Equal(t, "refused", knobs["bulk_empty_filter"])
	assert.Equal(t, "1ms", knobs["latency"])
	assert.Equal(t, 3.0, knobs["lookup_max_records"])
	assert.Equal(t, []any{0.0}, knobs["empty_page_offsets"])

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	assert.Contains(t, stderr.String(), "hwsim stopped")
	assert.NotContains(t, stderr.String(), testSK, "the secret key is never logged")
}

func TestStopsOnSIGTERM(t *testing.T) {
	url, stderr, done := start(t, t.Context(), []string{"--listen", "127.0.0.1:0", "--resources", "10"}, goodEnv)
	resp, err := http.Get(url + "/_hwsim/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	// run has registered for SIGTERM before printing the ready line, so
	// the signal stops it instead of the test binary.
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

func TestListenFailureExit1(t *testing.T) {
	url, _, _ := start(t, t.Context(), []string{"--listen", "127.0.0.1:0", "--resources", "1"}, goodEnv)
	addr := strings.TrimPrefix(url, "http://")
	code, stderr := runSync(t, []string{"--listen", addr}, goodEnv)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "address already in use")
}
