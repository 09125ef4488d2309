package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/testenv"
)

// artifactDir is where browser tests keep their screenshots:
// $EXPIRY_SYNC_ARTIFACTS, else test-artifacts/ at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("EXPIRY_SYNC_ARTIFACTS")
	if dir == "" {
		var err error
		dir, err = filepath.Abs("../../../test-artifacts")
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// browser starts headless Chromium with the flags this closed network needs
// and a fresh profile.
func browser(t *testing.T) context.Context {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if testenv.RequireAll() {
			t.Fatal("chromium is not installed: apt-get install chromium")
		}
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// TestWebUIShowsTheSync opens the Temporal Web UI after a sync, as an
// operator would: the workflow list filtered on the sync's search attribute
// shows the run as Completed, and the run's Search Attributes tab shows the
// values the sync upserted. Screenshots are kept in test-artifacts/.
func TestWebUIShowsTheSync(t *testing.T) {
	s := newStack(t, stackOptions{resources: 800, seed: 5})
	code, out, errOut := s.starter("sync", "--expire-days", "30", "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id, run := syncIDFrom(t, out), firstRunID(t, out)
	total := s.syncLog(id).TotalResources
	require.Positive(t, total)

	ctx := browser(t)
	dir := artifactDir(t)
	query := fmt.Sprintf(`ExpirySyncStatus="success" AND WorkflowId="%s"`, id)
	listURL := webUI + "/namespaces/default/workflows?query=" + url.QueryEscape(query)
	oneRun := regexp.MustCompile(`\b1\s+Workflow\b`)
	listText := visit(t, ctx, listURL, func(text string) bool { return oneRun.MatchString(text) && strings.Contains(text, "Completed") },
		filepath.Join(dir, "webui-workflow-list.png"))
	assert.Contains(t, listText, id)
	assert.Contains(t, listText, "Completed")
	assert.Regexp(t, oneRun, listText, "exactly this run matches the filter")

	attrsURL := fmt.Sprintf("%s/namespaces/default/workflows/%s/%s/search-attributes", webUI, id, run)
	attrsText := visit(t, ctx, attrsURL, func(text string) bool { return strings.Contains(text, `"ExpirySyncStatus"`) },
		filepath.Join(dir, "webui-search-attributes.png"))
	assert.Contains(t, attrsText, "Completed")
	assert.Regexp(t, `"ExpirySyncStatus":\s*"success"`, attrsText)
	assert.Regexp(t, fmt.Sprintf(`"ExpiringResources":\s*%d`, total), attrsText)
	assert.Regexp(t, `"ExpireDays":\s*30`, attrsText)

	// A schedule made by the starter shows on the UI's Schedules page.
	schedule := fmt.Sprintf("webui-%d", time.Now().UnixNano())
	code, _, errOut = s.starter("schedule", "create", schedule, "--every", "24h", "--expire-days", "7", "--paused")
	require.Equal(t, 0, code, errOut)
	t.Cleanup(func() { s.starter("schedule", "delete", schedule) })
	schedText := visit(t, ctx, webUI+"/namespaces/default/schedules", func(text string) bool { return strings.Contains(text, schedule) },
		filepath.Join(dir, "webui-schedules.png"))
	assert.Contains(t, schedText, schedule)
}

// visit opens a page and waits (reloading every few seconds: Temporal's
// visibility store is eventually consistent and the UI does not refresh by
// itself) until its text satisfies ready; it keeps a screenshot and
// returns the page's text.
func visit(t *testing.T, ctx context.Context, pageURL string, ready func(text string) bool, shot string) string {
	t.Helper()
	var text string
	found := false
	for attempt := 0; attempt < 120 && !found; attempt++ {
		if attempt%10 == 0 {
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(pageURL)), "open %s", pageURL)
		} else {
			require.NoError(t, chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond)))
		}
		var err error
		text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		require.NoError(t, err)
		found = ready(text)
	}
	require.True(t, found, "%s never got ready; it shows:\n%s", pageURL, text)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	writeArtifact(t, shot, png)
	return text
}

func writeArtifact(t *testing.T, path string, png []byte) {
	require.NotEmpty(t, png)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}
