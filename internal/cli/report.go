package cli

import "github.com/spf13/cobra"

// newReportCommand is being written: placeholder until then.
func newReportCommand(e *env) *cobra.Command {
	return &cobra.Command{Use: "report", Short: "(placeholder)", RunE: func(*cobra.Command, []string) error { return nil }}
}
