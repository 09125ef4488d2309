package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"
	"golang.org/x/term"

	"expiry-sync/workflows"
)

// followProgress shows a running sync's progress query until stop is
// called: a live bar on a terminal, plain lines (only when they change)
// otherwise, always on stderr so that stdout keeps only the result.
func (e *env) followProgress(ctx context.Context, c client.Client, id string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	show := e.progressView()
	go func() {
		defer close(done)
		tick := time.NewTicker(show.every())
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				show.close()
				return
			case <-tick.C:
			}
			if p, err := queryProgress(ctx, c, id); err == nil { // a failed query: maybe between two runs
				show.update(p)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func queryProgress(ctx context.Context, c client.Client, id string) (workflows.Progress, error) {
	var p workflows.Progress
	v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return p, err
	}
	return p, v.Get(&p)
}

type progressView interface {
	every() time.Duration
	update(workflows.Progress)
	close()
}

func (e *env) progressView() progressView {
	if isTerminal(e.stderr) {
		return newBarView(e.stderr)
	}
	return &lineView{w: e.stderr, start: time.Now()}
}

// lineView prints one line per change, for logs and CI.
type lineView struct {
	w     io.Writer
	start time.Time
	last  string
}

func (v *lineView) every() time.Duration { return 5 * time.Second }
func (v *lineView) close()               {}

func (v *lineView) update(p workflows.Progress) {
	line := fmt.Sprintf("[%s] %s · %s", time.Since(v.start).Truncate(time.Second), progressCounts(p), p.Phase)
	if line != v.last {
		fmt.Fprintln(v.w, line)
		v.last = line
	}
}

// barView draws rows committed out of the resources BSS reported, with
// the rate and the time left; the description says what the sync does.
type barView struct {
	bar *progressbar.ProgressBar
	max int
}

func newBarView(w io.Writer) *barView {
	return &barView{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("starting"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)}
}

func (v *barView) every() time.Duration { return time.Second }
func (v *barView) close()               { _ = v.bar.Finish() }

func (v *barView) update(p workflows.Progress) {
	if p.TotalCount > 0 && p.TotalCount != v.max {
		v.max = p.TotalCount
		v.bar.ChangeMax(p.TotalCount)
	}
	v.bar.Describe(fmt.Sprintf(
		"%d pages · %d tags · %d batches · %d retries",
		p.PagesListed,
		p.TagsFetched,
		p.BatchesCommitted,
		p.Retries,
	))
	_ = v.bar.Set(p.RowsCommitted)
}

func progressCounts(p workflows.Progress) string {
	s := fmt.Sprintf("%d/%d listed · %d tags read · %d batches (%d rows) committed · %d retries · %d failures",
		p.ResourcesListed, p.TotalCount, p.TagsFetched, p.BatchesCommitted, p.RowsCommitted, p.Retries, p.Failures)
	if p.Rechecked > 0 {
		s += fmt.Sprintf(" · %d re-checked by id", p.Rechecked)
	}
	return s
}

// isTerminal tells whether w is a terminal (not a file, a pipe or /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
