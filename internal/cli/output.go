package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"

	"expiry-sync/activities"
)

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// kv prints aligned "key  value" lines.
type kv struct{ tw *tabwriter.Writer }

func newKV(w io.Writer) kv             { return kv{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)} }
func (k kv) row(key string, value any) { fmt.Fprintf(k.tw, "%s\t%v\n", key, value) }
func (k kv) flush()                    { _ = k.tw.Flush() }

// newTable is the CLI's one table style: plain text that reads well in a
// terminal and in logs.
func newTable(w io.Writer) table.Writer {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.Style().Options.SeparateRows = false
	return t
}

func printSummary(w io.Writer, s activities.Summary) {
	k := newKV(w)
	k.row("Sync", s.SyncID)
	k.row("Status", s.Status)
	k.row("Window", fmt.Sprintf("%s .. %s (expire within %d days)", s.WindowBegin.Format(time.RFC3339), s.WindowEnd.Format(time.RFC3339), s.ExpireDays))
	k.row("Resources", s.TotalResources)
	k.row("  tagged", s.TaggedResources)
	k.row("  type without tags", s.UntaggedResources)
	k.row("  vanished (404)", s.VanishedResources)
	k.row("  tag errors", s.TagErrorResources)
	k.row("Marked inactive", s.DeactivatedResources)
	k.row("Batches committed", s.BatchesCommitted)
	k.row("Rows written", s.RowsWritten)
	k.row("Attempts", s.Attempts)
	k.row("Retries", s.Retries)
	if s.FinishedAt != nil {
		k.row("Duration", s.FinishedAt.Sub(s.StartedAt).Round(time.Second))
	}
	k.flush()
	if len(s.TagErrors) > 0 {
		fmt.Fprintf(w, "\nResources stored without tags because TMS refused them (%d):\n", s.TagErrorResources)
		for _, te := range s.TagErrors {
			fmt.Fprintf(w, "  %s: %s\n", te.ResourceID, te.Error)
		}
	}
}
