package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"expiry-sync/activities"
)

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printSummary(w io.Writer, s activities.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("Sync", s.SyncID)
	row("Status", s.Status)
	row("Window", fmt.Sprintf("%s .. %s (expire within %d days)", s.WindowBegin.Format(time.RFC3339), s.WindowEnd.Format(time.RFC3339), s.ExpireDays))
	row("Resources", s.TotalResources)
	row("  tagged", s.TaggedResources)
	row("  type without tags", s.UntaggedResources)
	row("  vanished (404)", s.VanishedResources)
	row("  tag errors", s.TagErrorResources)
	row("Marked inactive", s.DeactivatedResources)
	row("Batches committed", s.BatchesCommitted)
	row("Rows written", s.RowsWritten)
	row("Attempts", s.Attempts)
	if s.FinishedAt != nil {
		row("Duration", s.FinishedAt.Sub(s.StartedAt).Round(time.Second))
	}
	_ = tw.Flush()
	if len(s.TagErrors) > 0 {
		fmt.Fprintf(w, "\nResources stored without tags because TMS refused them (%d):\n", s.TagErrorResources)
		for _, te := range s.TagErrors {
			fmt.Fprintf(w, "  %s: %s\n", te.ResourceID, te.Error)
		}
	}
}
