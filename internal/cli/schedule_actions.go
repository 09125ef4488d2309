package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// triggerWait bounds how long `trigger` watches for the action it asked for.
const triggerWait = 10 * time.Second

func (e *env) schedulePauseCommand(pause bool) *cobra.Command {
	var notes string
	verb, Verb := "pause", "Paused"
	short := "Pause a schedule: it starts no sync until unpaused"
	example := `  starter schedule pause nightly --notes "ops-1234: database maintenance until 18:00"
  starter schedule pause nightly -o json`
	if !pause {
		verb, Verb = "unpause", "Unpaused"
		short = "Unpause a schedule: it starts syncs at its times again"
		example = `  starter schedule unpause nightly --notes "ops-1234: maintenance done"`
	}
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Long: short + ".\n" +
			"The note replaces the schedule's note and tells others why (see 'starter schedule describe').\n" +
			"It does not touch a sync that is already running.",
		Example:           example,
		Args:              oneID,
		ValidArgsFunction: e.completeScheduleIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return e.withSchedule(cmd, id, verb, func(
				ctx context.Context, c *conn, before *workflowservice.DescribeScheduleResponse,
			) error {
				wasPaused := before.GetSchedule().GetState().GetPaused()
				// Already so and no new note: leave the schedule (and its note) alone.
				if wasPaused != pause || cmd.Flags().Changed("notes") {
					if notes == "" {
						notes = Verb + " with 'starter schedule " + verb + "'"
					}
					if err := setPaused(ctx, c, id, pause, notes); err != nil {
						return e.scheduleError(id, "", err)
					}
				}
				v, err := e.scheduleView(ctx, c, id, 0)
				if err != nil {
					return err
				}
				return e.print(pauseResult{ScheduleID: id, Paused: v.Paused, Unchanged: wasPaused == pause,
					Note: v.Note, NextRun: v.nextRun(), WebURL: v.WebURL, nextText: v.nextRunText()})
			})
		},
	}
	cmd.Flags().StringVar(&notes, "notes", "",
		"why; replaces the schedule's note (default \""+Verb+" with 'starter schedule "+verb+"'\")")
	describeOutput(cmd, pauseResult{})
	return cmd
}

func setPaused(ctx context.Context, c *conn, id string, pause bool, note string) error {
	h := c.ScheduleClient().GetHandle(ctx, id)
	if pause {
		return h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	}
	return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
}

func (e *env) scheduleTriggerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger ID",
		Short: "Start a sync of the schedule now, honouring its overlap policy",
		Long: `trigger asks the schedule to start a sync now, with its sync options, as if one were due.
Its overlap policy applies: with skip (the default) nothing starts while a sync of the
schedule still runs. trigger waits up to 10s to report the sync it started.`,
		Example: `  starter schedule trigger nightly
  starter schedule trigger nightly -o json | jq -r .workflow_id`,
		Args:              oneID,
		ValidArgsFunction: e.completeScheduleIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withSchedule(cmd, args[0], "trigger", func(
				ctx context.Context, c *conn, before *workflowservice.DescribeScheduleResponse,
			) error {
				r, err := e.trigger(ctx, c, args[0], before)
				if err != nil {
					return err
				}
				return e.print(r)
			})
		},
	}
	describeOutput(cmd, triggerResult{})
	return cmd
}

// trigger triggers the schedule, then watches for what its policy did.
func (e *env) trigger(
	ctx context.Context,
	c *conn,
	id string,
	before *workflowservice.DescribeScheduleResponse,
) (triggerResult, error) {
	r := triggerResult{
		ScheduleID: id,
		Overlap:    overlapName(before.GetSchedule().GetPolicies().GetOverlapPolicy()),
		Outcome:    "pending",
	}
	// No overlap override: the schedule's policy decides.
	if err := c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return r, e.scheduleError(id, "", err)
	}
	b := before.GetInfo()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(triggerWait)
	for {
		select {
		case <-ctx.Done():
			return r, nil
		case <-deadline:
			return r, nil
		case <-tick.C:
		}
		now, err := e.describeSchedule(ctx, c, id)
		if err != nil {
			return r, err
		}
		n := now.GetInfo()
		switch {
		case n.GetActionCount() > b.GetActionCount():
			r.Outcome = "started"
			if last := latestAction(n.GetRecentActions()); last != nil {
				started := last.GetStartWorkflowResult()
				r.WorkflowID, r.RunID = started.GetWorkflowId(), started.GetRunId()
				r.WebURL = e.webURL(r.WorkflowID)
			}
			return r, nil
		case n.GetOverlapSkipped() > b.GetOverlapSkipped():
			r.Outcome, r.Running = "skipped", runningIDs(n)
			return r, nil
		case n.GetBufferSize() > b.GetBufferSize():
			r.Outcome, r.Running = "buffered", runningIDs(n)
			return r, nil
		}
	}
}

func (e *env) scheduleBackfillCommand() *cobra.Command {
	var (
		start, end timeFlag
		overlap    overlapFlag
	)
	cmd := &cobra.Command{
		Use:   "backfill ID --start-time TIME --end-time TIME",
		Short: "Start now the syncs the schedule would have started between two times",
		Long: `backfill runs the schedule over a past period: for every time its spec names between
--start-time and --end-time, it starts a sync now, as 'temporal schedule backfill' does.
The overlap policy applies between them (default: the schedule's): with skip, a
backfill of many times starts one sync while it runs and skips the others.`,
		Example: `  starter schedule backfill nightly --start-time 2026-11-20T00:00:00Z --end-time 2026-11-21T00:00:00Z
  starter schedule backfill nightly --start-time 2026-11-20T00:00:00+08:00 --end-time 2026-11-27T00:00:00+08:00 ` +
			`--overlap-policy buffer-all`,
		Args:              oneID,
		ValidArgsFunction: e.completeScheduleIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			switch {
			case start.t.IsZero() || end.t.IsZero():
				return errors.New("--start-time and --end-time are required: the period to backfill, in RFC 3339")
			case !end.t.After(start.t):
				return fmt.Errorf("--end-time=%s is not after --start-time=%s", end.String(), start.String())
			}
			return e.withSchedule(cmd, id, "backfill", func(
				ctx context.Context, c *conn, desc *workflowservice.DescribeScheduleResponse,
			) error {
				policy := enumspb.ScheduleOverlapPolicy(overlap)
				if !cmd.Flags().Changed("overlap-policy") {
					policy = desc.GetSchedule().GetPolicies().GetOverlapPolicy()
				}
				err := c.ScheduleClient().GetHandle(ctx, id).Backfill(ctx, client.ScheduleBackfillOptions{
					Backfill: []client.ScheduleBackfill{{Start: start.t, End: end.t, Overlap: policy}},
				})
				if err != nil {
					return e.scheduleError(id, "", err)
				}
				return e.print(backfillResult{
					ScheduleID: id,
					StartTime:  start.t,
					EndTime:    end.t,
					Overlap:    overlapName(policy),
					WebURL:     e.scheduleURL(id),
				})
			})
		},
	}
	f := cmd.Flags()
	f.Var(&start, "start-time", "the first time to backfill (RFC 3339, required)")
	f.Var(&end, "end-time", "the last time to backfill (RFC 3339, required)")
	f.Var(&overlap, "overlap-policy",
		"overlap policy of the backfilled syncs (default: the schedule's): "+joinNames(overlapNames()))
	_ = cmd.RegisterFlagCompletionFunc("overlap-policy", completeWords(overlapNames()...))
	describeOutput(cmd, backfillResult{})
	return cmd
}

func (e *env) scheduleDeleteCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a schedule; syncs it already started keep running",
		Long: `delete removes the schedule: it starts no more syncs. A sync it started that is still
running is not stopped, and the history of past syncs stays in Temporal and the sync log.`,
		Example: `  starter schedule delete nightly
  starter schedule delete nightly -o json`,
		Args:              oneID,
		ValidArgsFunction: e.completeScheduleIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return e.withSchedule(cmd, id, "delete", func(
				ctx context.Context, c *conn, _ *workflowservice.DescribeScheduleResponse,
			) error {
				if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
					return e.scheduleError(id, "", err)
				}
				return e.print(deleteResult{ScheduleID: id, Namespace: e.cfg.Temporal.Namespace, Deleted: true})
			})
		},
	}
	describeOutput(cmd, deleteResult{})
	return cmd
}
