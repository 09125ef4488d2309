package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"

	"expiry-sync/internal/config"
	"expiry-sync/workflows"
)

// completionTimeout: a shell waits for completions; give up quickly.
const completionTimeout = 3 * time.Second

// completeWords completes a flag from a fixed list of values.
func completeWords(words ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp)
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

// completeKnobs completes the sync knobs that take a fixed set of values.
func (e *env) completeKnobs(cmd *cobra.Command) {
	for _, k := range syncKnobs {
		if k.values != nil {
			_ = cmd.RegisterFlagCompletionFunc(k.flag, completeWords(k.values...))
		}
	}
}

// completeScheduleFlags completes create and update: the knobs, the policy,
// and the schedule id of update.
func (e *env) completeScheduleFlags(cmd *cobra.Command) {
	e.completeKnobs(cmd)
	_ = cmd.RegisterFlagCompletionFunc("overlap-policy", completeWords(overlapNames()...))
	_ = cmd.RegisterFlagCompletionFunc(
		"time-zone",
		completeWords("UTC", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Europe/Berlin", "America/New_York"),
	)
}

// completeTemporal asks Temporal for completions: the configuration is read
// here because completion runs no PersistentPreRunE.
func (e *env) completeTemporal(
	cmd *cobra.Command,
	fn func(ctx context.Context, c *conn) ([]string, error),
) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg, err := config.LoadStarter()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	e.cfg = cfg
	if cmd.Context() == nil {
		cmd.SetContext(context.Background())
	}
	var out []string
	err = e.withTemporal(cmd, completionTimeout, func(ctx context.Context, c *conn) error {
		out, err = fn(ctx, c)
		return err
	})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeSyncIDs completes the first argument with the ids of recent syncs
// in one of states (nil: any).
func (e *env) completeSyncIDs(states []enumspb.WorkflowExecutionStatus) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return e.completeTemporal(cmd, func(ctx context.Context, c *conn) ([]string, error) {
			query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'ContinuedAsNew'", workflows.WorkflowName)
			if len(states) > 0 {
				var or []string
				for _, s := range states {
					i := slices.IndexFunc(listStates, func(l listState) bool { return l.name == stateName(s) })
					if i >= 0 {
						or = append(or, listStates[i].query)
					}
				}
				query += " AND (" + strings.Join(or, " OR ") + ")"
			}
			runs, err := e.listSyncs(ctx, c, query, 50)
			var ids []string
			for _, r := range runs {
				if strings.HasPrefix(r.SyncID, toComplete) {
					ids = append(ids, r.SyncID)
				}
			}
			return ids, err
		})
	}
}

// completeScheduleIDs completes the first argument with the namespace's
// sync schedules.
func (e *env) completeScheduleIDs(
	cmd *cobra.Command,
	args []string,
	toComplete string,
) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return e.completeTemporal(cmd, func(ctx context.Context, c *conn) ([]string, error) {
		all, err := e.scheduleIDs(ctx, c)
		var ids []string
		for _, id := range all {
			if strings.HasPrefix(id, toComplete) {
				ids = append(ids, id)
			}
		}
		return ids, err
	})
}
