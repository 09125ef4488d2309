package cli

import "github.com/spf13/cobra"

// newScheduleCommand is being written: placeholder until then.
func newScheduleCommand(e *env) *cobra.Command {
	return &cobra.Command{Use: "schedule", Short: "(placeholder)", RunE: func(*cobra.Command, []string) error { return nil }}
}
