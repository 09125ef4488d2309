package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testenv"
)

// artifactDir is where browser tests keep their screenshots:
// $EXPIRY_SYNC_ARTIFACTS, else test-artifacts/ at the repository root.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("EXPIRY_SYNC_ARTIFACTS")
	if dir == "" {
		var err error
		dir, err = filepath.Abs("../../test-artifacts")
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
	listText := visit(t, ctx, listURL, chromedp.CSS(fmt.Sprintf(`a[href*=%q]`, id)), filepath.Join(dir, "webui-workflow-list.png"))
	assert.Contains(t, listText, id)
	assert.Contains(t, listText, "Completed")
	assert.Regexp(t, regexp.MustCompile(`\b1\s+Workflow\b`), listText, "exactly this run matches the filter")

	attrsURL := fmt.Sprintf("%s/namespaces/default/workflows/%s/%s/search-attributes", webUI, id, run)
	attrsText := visit(t, ctx, attrsURL, chromedp.Search(`//*[contains(text(), "ExpirySyncStatus")]`), filepath.Join(dir, "webui-search-attributes.png"))
	assert.Contains(t, attrsText, "Completed")
	assert.Regexp(t, `"ExpirySyncStatus":\s*"success"`, attrsText)
	assert.Regexp(t, fmt.Sprintf(`"ExpiringResources":\s*%d`, total), attrsText)
	assert.Regexp(t, `"ExpireDays":\s*30`, attrsText)
}

// visit opens a page, waits until ready shows, keeps a screenshot and
// returns the page's text.
func visit[S chromedp.Selectable](t *testing.T, ctx context.Context, pageURL string, ready S, shot string) string {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitVisible(ready)), "open %s", pageURL)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	require.NoError(t, err)
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
