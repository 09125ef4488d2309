package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"expiry-sync/workflows"
)

// Limits of a schedule's settings.
const (
	minEvery         = time.Minute      // shorter intervals would overlap every sync
	minCatchupWindow = 10 * time.Second // Temporal raises anything shorter to this
	// defaultCatchupWindow is what Temporal applies when none is set.
	defaultCatchupWindow = 365 * 24 * time.Hour
	maxScheduleIDLen     = 200
	// triggerWait bounds how long `trigger` watches for the action it asked for.
	triggerWait = 10 * time.Second
	// nextRunsShown: how many of the next action times `describe` prints.
	nextRunsShown = 5
)

var scheduleIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// overlapPolicies are the --overlap values, in the order the help lists them.
var overlapPolicies = []struct {
	name   string
	policy enumspb.ScheduleOverlapPolicy
}{
	{"skip", enumspb.SCHEDULE_OVERLAP_POLICY_SKIP},
	{"buffer-one", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
	{"buffer-all", enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
	{"allow-all", enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
	{"cancel-other", enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
	{"terminate-other", enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
}

func overlapNames() string {
	names := make([]string, len(overlapPolicies))
	for i, p := range overlapPolicies {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// overlapName spells a policy as --overlap does; unspecified is Temporal's
// default, skip.
func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	if p == enumspb.SCHEDULE_OVERLAP_POLICY_UNSPECIFIED {
		return "skip"
	}
	for _, o := range overlapPolicies {
		if o.policy == p {
			return o.name
		}
	}
	return strings.ToLower(strings.TrimPrefix(p.String(), "SCHEDULE_OVERLAP_POLICY_"))
}

// overlapFlag is --overlap. It also takes the official CLI's spellings
// (Skip, BufferOne, ...).
type overlapFlag enumspb.ScheduleOverlapPolicy

func (f *overlapFlag) String() string { return overlapName(enumspb.ScheduleOverlapPolicy(*f)) }
func (f *overlapFlag) Type() string   { return "policy" }
func (f *overlapFlag) Set(s string) error {
	norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	for _, p := range overlapPolicies {
		if strings.ReplaceAll(p.name, "-", "") == norm {
			*f = overlapFlag(p.policy)
			return nil
		}
	}
	return fmt.Errorf("allowed %s", overlapNames())
}

// durationFlag is a duration flag whose parse error says what is allowed.
type durationFlag struct{ d time.Duration }

// String is empty for 0 so that the help shows no "(default 0s)".
func (f *durationFlag) String() string {
	if f.d == 0 {
		return ""
	}
	return formatDuration(f.d)
}
func (f *durationFlag) Type() string { return "duration" }
func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a duration: use a number with a unit, e.g. 90s, 30m, 6h or 24h")
	}
	f.d = d
	return nil
}

// formatDuration prints 1h instead of 1h0m0s; it parses back with time.ParseDuration.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// scheduleOptions are the flags of `schedule create` and `schedule update`.
type scheduleOptions struct {
	input          workflows.SyncInput
	cron           string
	every          durationFlag
	overlap        overlapFlag
	timezone       string
	jitter         durationFlag
	catchup        durationFlag
	pauseOnFailure bool
	paused         bool
	note           string
	json           bool
}

// scheduleFlags are the schedule's own flags `update` may change (besides
// the sync knobs).
var scheduleFlags = []string{"cron", "every", "timezone", "jitter", "overlap", "catchup-window", "pause-on-failure", "paused", "note"}

func addScheduleFlags(f *pflag.FlagSet, o *scheduleOptions) {
	addSyncInputFlags(f, &o.input)
	o.overlap = overlapFlag(enumspb.SCHEDULE_OVERLAP_POLICY_SKIP)
	f.StringVar(&o.cron, "cron", "", `run a sync at the times of this cron expression: "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" (02:00 every day), or @hourly, @daily, @weekly, @monthly`)
	f.Var(&o.every, "every", "run a sync at this interval, e.g. 6h or 24h (at least 1m); runs fall on multiples of the interval since the Unix epoch")
	f.StringVar(&o.timezone, "timezone", "UTC", "IANA time zone in which --cron is read, e.g. Asia/Shanghai")
	f.Var(&o.overlap, "overlap", "what to do when a sync is due while the previous one still runs: "+overlapNames())
	f.Var(&o.jitter, "jitter", "start each sync up to this much later, at random (spreads load), e.g. 5m")
	f.Var(&o.catchup, "catchup-window", "after a Temporal outage, still start the syncs missed within this window (at least 10s; 0 keeps Temporal's default of one year)")
	f.BoolVar(&o.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a sync fails")
	f.BoolVar(&o.paused, "paused", false, "create the schedule paused")
	f.StringVar(&o.note, "note", "", "a note kept on the schedule, e.g. who asked for it and why")
	f.BoolVar(&o.json, "json", false, "print the schedule as JSON on stdout")
}

// validateScheduleID checks an ID given to create.
func validateScheduleID(id string) error {
	if len(id) > maxScheduleIDLen || !scheduleIDPattern.MatchString(id) {
		return fmt.Errorf("schedule ID %q is invalid: allowed 1..%d characters of A-Z a-z 0-9 . _ -", id, maxScheduleIDLen)
	}
	return nil
}

// validate checks the flags that were given (all of them for create: their
// defaults are valid) before anything is dialed.
func (o *scheduleOptions) validate(changed func(string) bool, creating bool) error {
	cron, every := changed("cron"), changed("every")
	switch {
	case cron && every:
		return errors.New("--cron and --every cannot be combined: give exactly one")
	case creating && !cron && !every:
		return errors.New("give exactly one of --cron EXPR or --every DURATION (see 'starter schedule create --help')")
	}
	if cron {
		expr := strings.TrimSpace(o.cron)
		switch {
		case expr == "":
			return errors.New(`--cron "" is empty: give a cron expression such as "0 2 * * *" or @daily`)
		case strings.HasPrefix(expr, "@every"):
			return fmt.Errorf("--cron %q: use --every for intervals, e.g. --every 6h", o.cron)
		case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
			return fmt.Errorf("--cron %q: give the time zone with --timezone, not in the expression", o.cron)
		}
	}
	if every && o.every.d < minEvery {
		return fmt.Errorf("--every=%s is out of range: allowed %s or more", formatDuration(o.every.d), formatDuration(minEvery))
	}
	if changed("timezone") || creating {
		if err := validateTimezone(o.timezone); err != nil {
			return err
		}
	}
	if o.jitter.d < 0 {
		return fmt.Errorf("--jitter=%s is out of range: allowed 0s or more", formatDuration(o.jitter.d))
	}
	if o.catchup.d != 0 && o.catchup.d < minCatchupWindow {
		return fmt.Errorf("--catchup-window=%s is out of range: allowed %s or more (Temporal's minimum), or 0 for Temporal's default of one year",
			formatDuration(o.catchup.d), formatDuration(minCatchupWindow))
	}
	if _, err := validateSyncInput(o.input); err != nil {
		return err
	}
	return nil
}

func validateTimezone(tz string) error {
	bad := fmt.Errorf("--timezone %q is not a known time zone: use an IANA name such as UTC, Asia/Shanghai or Europe/Berlin", tz)
	if strings.TrimSpace(tz) == "" || tz == "Local" {
		return bad
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return bad
	}
	return nil
}

// applySpec sets the schedule's times from the flags that were given.
func (o *scheduleOptions) applySpec(spec *client.ScheduleSpec, changed func(string) bool) {
	if changed("cron") {
		spec.CronExpressions, spec.Calendars, spec.Intervals = []string{strings.TrimSpace(o.cron)}, nil, nil
	}
	if changed("every") {
		spec.Intervals, spec.Calendars, spec.CronExpressions = []client.ScheduleIntervalSpec{{Every: o.every.d}}, nil, nil
	}
	if changed("timezone") || spec.TimeZoneName == "" {
		spec.TimeZoneName = o.timezone
	}
	if changed("jitter") {
		spec.Jitter = o.jitter.d
	}
}

// syncWorkflowID is the id prefix of the syncs a schedule starts; Temporal
// appends the schedule time (expiry-sync-nightly-2026-11-26T02:00:00Z).
func syncWorkflowID(scheduleID string) string { return "expiry-sync-" + scheduleID }

func syncSummary(scheduleID string, in workflows.SyncInput) string {
	return fmt.Sprintf("Sync of resources expiring within %d days (schedule %s)", in.ExpireDays, scheduleID)
}

// syncAction is what the schedule does: start a sync with this input.
func syncAction(scheduleID, taskQueue string, in workflows.SyncInput, keep temporal.SearchAttributes) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:            syncWorkflowID(scheduleID),
		Workflow:      workflows.WorkflowName,
		Args:          []any{in},
		TaskQueue:     taskQueue,
		StaticSummary: syncSummary(scheduleID, in),
		TypedSearchAttributes: temporal.NewSearchAttributes(keep.Copy(),
			workflows.AttrExpireDays.ValueSet(int64(in.ExpireDays))),
	}
}

func newScheduleCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run syncs on a recurring schedule (Temporal Schedules)",
		Long: `schedule manages Temporal Schedules that start syncs on their own: at the times of a cron
expression or at a fixed interval. Each run is a normal sync, with the workflow id
expiry-sync-<schedule ID>-<schedule time>. By default a run is skipped while the
previous sync still runs (--overlap skip), so two syncs of one account never overlap.

The schedules live in TEMPORAL_NAMESPACE and start syncs on TEMPORAL_TASK_QUEUE.`,
		Example: `  starter schedule create nightly --cron "0 2 * * *" --timezone Asia/Shanghai --expire-days 30
  starter schedule list
  starter schedule describe nightly
  starter schedule trigger nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newScheduleCreateCommand(e), newScheduleListCommand(e), newScheduleDescribeCommand(e),
		newScheduleUpdateCommand(e), newSchedulePauseCommand(e, true), newSchedulePauseCommand(e, false),
		newScheduleTriggerCommand(e), newScheduleDeleteCommand(e),
	)
	return cmd
}

// oneID is cobra.ExactArgs(1) with a pointer to the help.
func oneID(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return fmt.Errorf("%s needs exactly one schedule ID: %v (see '%s --help')", cmd.CommandPath(), err, cmd.CommandPath())
	}
	return nil
}

func newScheduleCreateCommand(e *env) *cobra.Command {
	o := &scheduleOptions{}
	cmd := &cobra.Command{
		Use:   "create ID (--cron EXPR | --every DURATION) [flags]",
		Short: "Create a schedule that starts a sync at the times of --cron or every --every",
		Long: `create makes a Temporal Schedule that starts a sync with the given options (the same knobs
as 'starter sync') at the times of --cron, read in --timezone, or every --every.
Exactly one of --cron and --every is required. The ID is 1..200 characters of
A-Z a-z 0-9 . _ - and names the syncs: expiry-sync-<ID>-<schedule time>.`,
		Example: `  starter schedule create nightly --cron "0 2 * * *" --timezone Asia/Shanghai --expire-days 30
  starter schedule create hourly --every 1h --expire-days 7 --jitter 5m --note "ops-1234: hourly until the renewal wave ends"
  starter schedule create weekly-long --cron "30 3 * * MON" --expire-days 365 --lookback-days 60 --paused --json`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error { return e.runScheduleCreate(cmd, args[0], o) },
	}
	addScheduleFlags(cmd.Flags(), o)
	return cmd
}

func (e *env) runScheduleCreate(cmd *cobra.Command, id string, o *scheduleOptions) error {
	if err := validateScheduleID(id); err != nil {
		return err
	}
	changed := cmd.Flags().Changed
	if err := o.validate(changed, true); err != nil {
		return err
	}
	in, _ := validateSyncInput(o.input)
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	var spec client.ScheduleSpec
	o.applySpec(&spec, changed)
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:             id,
		Spec:           spec,
		Action:         syncAction(id, e.temporal.TaskQueue, in, temporal.SearchAttributes{}),
		Overlap:        enumspb.ScheduleOverlapPolicy(o.overlap),
		CatchupWindow:  o.catchup.d,
		PauseOnFailure: o.pauseOnFailure,
		Paused:         o.paused,
		Note:           o.note,
	})
	if err != nil {
		return e.scheduleError(id, o.cron, err)
	}
	v, err := e.scheduleView(ctx, c, id, 0)
	if err != nil {
		return err
	}
	if o.json {
		return e.printJSON(v)
	}
	state := ""
	if v.Paused {
		state = " (paused)"
	}
	fmt.Fprintf(e.stdout, "Created schedule %s%s in namespace %s: %s, overlap %s; syncs resources expiring within %d days\n",
		id, state, e.temporal.Namespace, v.Spec.text(), v.Overlap, in.ExpireDays)
	fmt.Fprintf(e.stdout, "Next run: %s\nWeb UI: %s\n", v.nextRunText(), v.WebURL)
	return nil
}

func newScheduleUpdateCommand(e *env) *cobra.Command {
	o := &scheduleOptions{}
	cmd := &cobra.Command{
		Use:   "update ID [flags]",
		Short: "Change a schedule: only the flags given change",
		Long: `update changes the settings given as flags and keeps every other one, including the
sync options of its action: 'update nightly --expire-days 14' changes only the window.
--cron or --every replaces the times of the schedule.`,
		Example: `  starter schedule update nightly --expire-days 14
  starter schedule update nightly --cron "0 3 * * *" --timezone Europe/Berlin
  starter schedule update hourly --every 2h --overlap buffer-one --note "ops-1300: slower"`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error { return e.runScheduleUpdate(cmd, args[0], o) },
	}
	addScheduleFlags(cmd.Flags(), o)
	// Flags not given keep the schedule's values: show no defaults.
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		switch f.Value.Type() {
		case "int":
			f.DefValue = "0"
		case "bool":
			f.DefValue = "false"
		default:
			f.DefValue = ""
		}
	})
	cmd.Flags().Lookup("json").Usage = "print the updated schedule as JSON on stdout"
	cmd.Flags().Lookup("paused").Usage = "pause (--paused) or unpause (--paused=false) the schedule"
	return cmd
}

func (e *env) runScheduleUpdate(cmd *cobra.Command, id string, o *scheduleOptions) error {
	changed := cmd.Flags().Changed
	given := false
	for _, name := range scheduleFlags {
		given = given || changed(name)
	}
	for _, k := range syncKnobs {
		given = given || changed(k.flag)
	}
	if !given {
		return fmt.Errorf("nothing to update: give at least one flag to change, e.g. --expire-days 14 (see 'starter schedule update --help')")
	}
	if err := o.validate(changed, false); err != nil {
		return err
	}
	ctx, c, before, done, err := e.openSchedule(cmd, id, "update")
	if err != nil {
		return err
	}
	defer done()
	// doErr is an error of DoUpdate, returned as is (bad input or failure).
	var doErr error
	err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := u.Description.Schedule
			act, ok := s.Action.(*client.ScheduleWorkflowAction)
			if !ok || fmt.Sprint(act.Workflow) != workflows.WorkflowName {
				doErr = notOurs(id, "(not a workflow)", "update")
				if ok {
					doErr = notOurs(id, fmt.Sprint(act.Workflow), "update")
				}
				return nil, doErr
			}
			var in workflows.SyncInput
			if err := decodeArg(act.Args, &in); err != nil {
				doErr = fail(fmt.Errorf("schedule %s: reading the sync options of its action: %v", id, err))
				return nil, doErr
			}
			copyGivenKnobs(cmd.Flags(), &in, o.input)
			in, doErr = validateSyncInput(in)
			if doErr != nil {
				return nil, doErr
			}
			next := syncAction(id, act.TaskQueue, in, act.TypedSearchAttributes)
			next.ID, next.Memo, next.UntypedSearchAttributes = act.ID, act.Memo, act.UntypedSearchAttributes
			next.WorkflowExecutionTimeout, next.WorkflowRunTimeout, next.WorkflowTaskTimeout = act.WorkflowExecutionTimeout, act.WorkflowRunTimeout, act.WorkflowTaskTimeout
			next.RetryPolicy, next.StaticDetails, next.Priority = act.RetryPolicy, act.StaticDetails, act.Priority
			next.VersioningOverride = act.VersioningOverride
			s.Action = next

			spec := client.ScheduleSpec{}
			if s.Spec != nil {
				spec = *s.Spec
			}
			o.applySpec(&spec, changed)
			s.Spec = &spec
			policy := client.SchedulePolicies{}
			if s.Policy != nil {
				policy = *s.Policy
			}
			if changed("overlap") {
				policy.Overlap = enumspb.ScheduleOverlapPolicy(o.overlap)
			}
			if changed("catchup-window") {
				policy.CatchupWindow = o.catchup.d
			}
			if changed("pause-on-failure") {
				policy.PauseOnFailure = o.pauseOnFailure
			}
			s.Policy = &policy
			state := client.ScheduleState{}
			if s.State != nil {
				state = *s.State
			}
			if changed("paused") {
				state.Paused = o.paused
			}
			if changed("note") {
				state.Note = o.note
			}
			s.State = &state
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if doErr != nil && errors.Is(err, doErr) {
		return doErr
	}
	if err != nil {
		return e.scheduleError(id, o.cron, err)
	}
	after, err := e.scheduleView(ctx, c, id, 0)
	if err != nil {
		return err
	}
	if o.json {
		return e.printJSON(after)
	}
	diff := scheduleDiff(e.viewOf(id, before), after)
	if len(diff) == 0 {
		fmt.Fprintf(e.stdout, "Schedule %s unchanged: it already had these settings\n", id)
		return nil
	}
	fmt.Fprintf(e.stdout, "Updated schedule %s: %s\n", id, strings.Join(diff, ", "))
	return nil
}

// scheduleDiff lists what changed between two views, e.g. "expire-days 7 -> 14".
func scheduleDiff(a, b scheduleView) []string {
	var out []string
	add := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %s -> %s", name, x, y))
		}
	}
	add("spec", a.Spec.text(), b.Spec.text())
	add("jitter", a.Spec.Jitter, b.Spec.Jitter)
	add("overlap", a.Overlap, b.Overlap)
	add("catchup-window", a.CatchupWindow, b.CatchupWindow)
	add("pause-on-failure", fmt.Sprint(a.PauseOnFailure), fmt.Sprint(b.PauseOnFailure))
	add("paused", fmt.Sprint(a.Paused), fmt.Sprint(b.Paused))
	add("note", fmt.Sprintf("%q", a.Note), fmt.Sprintf("%q", b.Note))
	if a.Sync != nil && b.Sync != nil {
		x, y := knobValues(*a.Sync), knobValues(*b.Sync)
		for i := range x {
			add(x[i][0], x[i][1], y[i][1])
		}
	}
	return out
}

func newScheduleListCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the sync schedules of the namespace",
		Long: `list shows every schedule of TEMPORAL_NAMESPACE that starts syncs: its times, overlap
policy, pause state, next run, most recent action and note. Temporal lists schedules
from its visibility store, so a schedule created a moment ago may take a second to appear.`,
		Example: `  starter schedule list
  starter schedule list --json | jq -r '.[].schedule_id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return e.runScheduleList(cmd, asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedules as a JSON array on stdout")
	return cmd
}

// scheduleRow is one schedule of `list`.
type scheduleRow struct {
	ID           string        `json:"schedule_id"`
	Spec         specView      `json:"spec"`
	Overlap      string        `json:"overlap"`
	Paused       bool          `json:"paused"`
	Note         string        `json:"note"`
	NextRun      *time.Time    `json:"next_run"`
	RecentAction *actionResult `json:"recent_action"`
	TaskQueue    string        `json:"task_queue"`
	ExpireDays   int           `json:"expire_days"`
	WebURL       string        `json:"web_url"`
}

func (e *env) runScheduleList(cmd *cobra.Command, asJSON bool) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var ids []string
	var token []byte
	for {
		res, err := c.WorkflowService().ListSchedules(ctx, &workflowservice.ListSchedulesRequest{
			Namespace: e.temporal.Namespace, MaximumPageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return fail(fmt.Errorf("listing the schedules of namespace %s: %v", e.temporal.Namespace, err))
		}
		for _, s := range res.GetSchedules() {
			// Entries whose info is not indexed yet are checked by describe.
			if t := s.GetInfo().GetWorkflowType().GetName(); t == "" || t == workflows.WorkflowName {
				ids = append(ids, s.GetScheduleId())
			}
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	slices.Sort(ids)
	rows := []scheduleRow{}
	for _, id := range slices.Compact(ids) {
		v, err := e.scheduleView(ctx, c, id, 1)
		if isNoSchedule(err) {
			continue // deleted since it was listed
		}
		if err != nil {
			return err
		}
		if v.Action.WorkflowType != workflows.WorkflowName {
			continue
		}
		row := scheduleRow{ID: v.ID, Spec: v.Spec, Overlap: v.Overlap, Paused: v.Paused, Note: v.Note,
			TaskQueue: v.Action.TaskQueue, WebURL: v.WebURL}
		if len(v.NextRuns) > 0 {
			row.NextRun = &v.NextRuns[0]
		}
		if n := len(v.RecentActions); n > 0 {
			row.RecentAction = &v.RecentActions[n-1]
		}
		if v.Sync != nil {
			row.ExpireDays = v.Sync.ExpireDays
		}
		rows = append(rows, row)
	}
	if asJSON {
		return e.printJSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(e.stdout, "No sync schedules in namespace %s. Create one with: starter schedule create nightly --cron \"0 2 * * *\"\n", e.temporal.Namespace)
		return nil
	}
	t := newTable(e.stdout)
	t.AppendHeader(table.Row{"ID", "SPEC", "OVERLAP", "PAUSED", "NEXT RUN", "RECENT ACTION", "NOTE"})
	for _, r := range rows {
		next, recent := "-", "-"
		if r.NextRun != nil {
			next = formatTime(*r.NextRun, r.Spec.Timezone)
		}
		if a := r.RecentAction; a != nil {
			recent = a.WorkflowID + " (" + a.statusText() + ")"
		}
		t.AppendRow(table.Row{r.ID, r.Spec.text(), r.Overlap, yesNo(r.Paused), next, recent, orDash(r.Note)})
	}
	t.Render()
	return nil
}

func newScheduleDescribeCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe ID",
		Short: "Show a schedule: its times, policies, sync options, next runs and recent syncs",
		Long: `describe shows a schedule's times, overlap policy, catchup window, pause state and note,
the sync options its syncs run with, the next 5 run times, the recent syncs it started
with their workflow ids and statuses, and the schedule's page in the Temporal Web UI.`,
		Example: `  starter schedule describe nightly
  starter schedule describe nightly --json | jq '.recent_actions[-1].workflow_id'`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			c, err := e.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			v, err := e.scheduleView(ctx, c, args[0], -1)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(v)
			}
			v.print(e.stdout)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedule as JSON on stdout")
	return cmd
}

func newSchedulePauseCommand(e *env, pause bool) *cobra.Command {
	var note string
	var asJSON bool
	verb, Verb, other := "pause", "Paused", "unpause"
	short := "Pause a schedule: it starts no sync until unpaused"
	example := `  starter schedule pause nightly --note "ops-1234: database maintenance until 18:00"
  starter schedule pause nightly --json`
	if !pause {
		verb, Verb, other = "unpause", "Unpaused", "pause"
		short = "Unpause a schedule: it starts syncs at its times again"
		example = `  starter schedule unpause nightly --note "ops-1234: maintenance done"`
	}
	cmd := &cobra.Command{
		Use:     verb + " ID",
		Short:   short,
		Long:    short + ".\nThe note replaces the schedule's note and tells others why (see 'starter schedule describe').\nIt does not touch a sync that is already running.",
		Example: example,
		Args:    oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx, c, before, done, err := e.openSchedule(cmd, id, verb)
			if err != nil {
				return err
			}
			defer done()
			wasPaused := before.GetSchedule().GetState().GetPaused()
			// Already so and no new note: leave the schedule (and its note) alone.
			if wasPaused != pause || cmd.Flags().Changed("note") {
				h := c.ScheduleClient().GetHandle(ctx, id)
				if note == "" {
					note = Verb + " with 'starter schedule " + verb + "'"
				}
				if pause {
					err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
				} else {
					err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
				}
				if err != nil {
					return e.scheduleError(id, "", err)
				}
			}
			v, err := e.scheduleView(ctx, c, id, 0)
			if err != nil {
				return err
			}
			if asJSON {
				return e.printJSON(map[string]any{"schedule_id": id, "paused": v.Paused, "note": v.Note, "next_run": v.nextRun(), "web_url": v.WebURL})
			}
			already := ""
			if wasPaused == pause {
				already = " (it already was)"
			}
			if pause {
				fmt.Fprintf(e.stdout, "Paused schedule %s%s: no sync starts until 'starter schedule %s %s'; note %q\n", id, already, other, id, v.Note)
			} else {
				fmt.Fprintf(e.stdout, "Unpaused schedule %s%s: next run %s; note %q\n", id, already, v.nextRunText(), v.Note)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why; replaces the schedule's note (default \""+Verb+" with 'starter schedule "+verb+"'\")")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedule's state as JSON on stdout")
	return cmd
}

func newScheduleTriggerCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trigger ID",
		Short: "Start a sync of the schedule now, honouring its overlap policy",
		Long: `trigger asks the schedule to start a sync now, with its sync options, as if one were due.
Its overlap policy applies: with skip (the default) nothing starts while a sync of the
schedule still runs. trigger waits up to 10s to report the sync it started.`,
		Example: `  starter schedule trigger nightly
  starter schedule trigger nightly --json | jq -r .workflow_id`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error { return e.runScheduleTrigger(cmd, args[0], asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON on stdout")
	return cmd
}

func (e *env) runScheduleTrigger(cmd *cobra.Command, id string, asJSON bool) error {
	ctx, c, before, done, err := e.openSchedule(cmd, id, "trigger")
	if err != nil {
		return err
	}
	defer done()
	// No overlap override: the schedule's policy decides.
	if err := c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return e.scheduleError(id, "", err)
	}
	b := before.GetInfo()
	overlap := overlapName(before.GetSchedule().GetPolicies().GetOverlapPolicy())
	out := map[string]any{"schedule_id": id, "overlap": overlap}
	outcome, line := "pending", fmt.Sprintf("Triggered schedule %s: no sync has started yet (see 'starter schedule describe %s')", id, id)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(triggerWait)
watch:
	for {
		select {
		case <-ctx.Done():
			break watch
		case <-deadline:
			break watch
		case <-tick.C:
		}
		now, err := e.describeSchedule(ctx, c, id)
		if err != nil {
			return err
		}
		n := now.GetInfo()
		running := runningIDs(n)
		switch {
		case n.GetActionCount() > b.GetActionCount():
			outcome = "started"
			if last := latestAction(n.GetRecentActions()); last != nil {
				wid := last.GetStartWorkflowResult().GetWorkflowId()
				out["workflow_id"], out["run_id"], out["web_url"] = wid, last.GetStartWorkflowResult().GetRunId(), e.webURL(wid)
				line = fmt.Sprintf("Triggered schedule %s: started sync %s (Web UI: %s)", id, wid, e.webURL(wid))
			} else {
				line = fmt.Sprintf("Triggered schedule %s: started a sync", id)
			}
			break watch
		case n.GetOverlapSkipped() > b.GetOverlapSkipped():
			outcome = "skipped"
			out["running"] = running
			line = fmt.Sprintf("Triggered schedule %s: skipped, sync %s is still running (overlap %s)", id, strings.Join(running, ", "), overlap)
			break watch
		case n.GetBufferSize() > b.GetBufferSize():
			outcome = "buffered"
			out["running"] = running
			line = fmt.Sprintf("Triggered schedule %s: buffered, it starts when sync %s ends (overlap %s)", id, strings.Join(running, ", "), overlap)
			break watch
		}
	}
	out["outcome"] = outcome
	if asJSON {
		return e.printJSON(out)
	}
	fmt.Fprintln(e.stdout, line)
	return nil
}

func newScheduleDeleteCommand(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a schedule; syncs it already started keep running",
		Long: `delete removes the schedule: it starts no more syncs. A sync it started that is still
running is not stopped, and the history of past syncs stays in Temporal and the sync log.`,
		Example: `  starter schedule delete nightly
  starter schedule delete nightly --json`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx, c, _, done, err := e.openSchedule(cmd, id, "delete")
			if err != nil {
				return err
			}
			defer done()
			if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
				return e.scheduleError(id, "", err)
			}
			if asJSON {
				return e.printJSON(map[string]any{"schedule_id": id, "namespace": e.temporal.Namespace, "deleted": true})
			}
			fmt.Fprintf(e.stdout, "Deleted schedule %s from namespace %s (syncs it started are not stopped)\n", id, e.temporal.Namespace)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON on stdout")
	return cmd
}

// noSchedule is the error of an unknown schedule ID (exit 2).
type noSchedule struct{ id, namespace string }

func (n noSchedule) Error() string {
	return fmt.Sprintf("no schedule %q in namespace %s (see 'starter schedule list')", n.id, n.namespace)
}

func isNoSchedule(err error) bool {
	var n noSchedule
	return errors.As(err, &n)
}

func notOurs(id, workflowType, verb string) error {
	return fmt.Errorf("schedule %q starts workflow type %q, not %s: starter does not %s it (use the temporal CLI)", id, workflowType, workflows.WorkflowName, verb)
}

// scheduleError turns a Temporal error into the starter's: bad input (exit 2)
// for what the user can fix by changing the command, a failure otherwise.
func (e *env) scheduleError(id, cron string, err error) error {
	var f failure
	if errors.As(err, &f) || isNoSchedule(err) {
		return err
	}
	var notFound *serviceerror.NotFound
	var invalid *serviceerror.InvalidArgument
	switch {
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		return fmt.Errorf("schedule %q already exists in namespace %s: use 'starter schedule update %s'", id, e.temporal.Namespace, id)
	case errors.As(err, &notFound):
		return noSchedule{id, e.temporal.Namespace}
	case errors.As(err, &invalid):
		msg := invalid.Error()
		if reason, ok := strings.CutPrefix(msg, "Invalid schedule spec: "); ok {
			switch {
			case strings.Contains(reason, "time zone"):
				return fmt.Errorf("--timezone was rejected by Temporal: %s", reason)
			case cron != "":
				return fmt.Errorf(`--cron %q is not a valid cron expression: %s; allowed: 5 to 7 fields "[second] minute hour day-of-month month day-of-week [year]" or @hourly, @daily, @weekly, @monthly, @yearly`, cron, reason)
			}
			return fmt.Errorf("the times of schedule %s were rejected by Temporal: %s", id, reason)
		}
		if strings.Contains(msg, "search attribute") {
			return fail(fmt.Errorf("schedule %s: %s; start the worker once (it registers the search attributes) or run: temporal operator search-attribute create --namespace %s --name %s --type Int",
				id, msg, e.temporal.Namespace, workflows.AttrExpireDays.GetName()))
		}
		return fail(fmt.Errorf("schedule %s: Temporal refused: %s", id, msg))
	}
	return fail(fmt.Errorf("schedule %s: %v", id, err))
}

// describeSchedule is the raw description: unlike the SDK's it carries the
// status of each recent action and the buffer size.
func (e *env) describeSchedule(ctx context.Context, c client.Client, id string) (*workflowservice.DescribeScheduleResponse, error) {
	res, err := c.WorkflowService().DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: e.temporal.Namespace, ScheduleId: id})
	if err != nil {
		return nil, e.scheduleError(id, "", err)
	}
	return res, nil
}

// ownSchedule describes a schedule that a command is about to change, and
// refuses schedules that do not start syncs.
// openSchedule dials Temporal and checks that id is a sync schedule the
// command (verb) may act on; done releases the connection.
func (e *env) openSchedule(cmd *cobra.Command, id, verb string) (context.Context, client.Client, *workflowservice.DescribeScheduleResponse, func(), error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
	c, err := e.dial(ctx)
	if err != nil {
		cancel()
		return nil, nil, nil, nil, err
	}
	done := func() { c.Close(); cancel() }
	desc, err := e.ownSchedule(ctx, c, id, verb)
	if err != nil {
		done()
		return nil, nil, nil, nil, err
	}
	return ctx, c, desc, done, nil
}

func (e *env) ownSchedule(ctx context.Context, c client.Client, id, verb string) (*workflowservice.DescribeScheduleResponse, error) {
	res, err := e.describeSchedule(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if t := res.GetSchedule().GetAction().GetStartWorkflow().GetWorkflowType().GetName(); t != workflows.WorkflowName {
		return nil, notOurs(id, t, verb)
	}
	return res, nil
}

// scheduleView is what describe shows (and create/update --json print).
type scheduleView struct {
	ID             string               `json:"schedule_id"`
	Namespace      string               `json:"namespace"`
	WebURL         string               `json:"web_url"`
	Spec           specView             `json:"spec"`
	Overlap        string               `json:"overlap"`
	CatchupWindow  string               `json:"catchup_window"`
	PauseOnFailure bool                 `json:"pause_on_failure"`
	Paused         bool                 `json:"paused"`
	Note           string               `json:"note"`
	Action         actionView           `json:"action"`
	Sync           *workflows.SyncInput `json:"sync"`
	ActionsTaken   int64                `json:"actions_taken"`
	SkippedOverlap int64                `json:"skipped_overlap"`
	MissedCatchup  int64                `json:"missed_catchup_window"`
	Buffered       int64                `json:"buffered"`
	Running        []string             `json:"running"`
	NextRuns       []time.Time          `json:"next_runs"`
	RecentActions  []actionResult       `json:"recent_actions"`
	CreatedAt      time.Time            `json:"created_at"`
	UpdatedAt      *time.Time           `json:"updated_at,omitempty"`
}

// specView: when a schedule acts. Temporal keeps a cron expression in
// structured form; Cron prints it back as an equivalent expression.
type specView struct {
	Cron     []string `json:"cron,omitempty"`
	Every    []string `json:"every,omitempty"`
	Timezone string   `json:"timezone"`
	Jitter   string   `json:"jitter"`
}

type actionView struct {
	WorkflowType string `json:"workflow_type"`
	// WorkflowID is the prefix: Temporal appends the schedule time.
	WorkflowID string `json:"workflow_id"`
	TaskQueue  string `json:"task_queue"`
	Summary    string `json:"summary,omitempty"`
	// ExpireDays is the value of the ExpireDays search attribute of the syncs.
	ExpireDays *int64 `json:"expire_days_search_attribute,omitempty"`
}

type actionResult struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	WorkflowID  string    `json:"workflow_id"`
	RunID       string    `json:"run_id"`
	// Status is the workflow's: running, completed, failed, canceled, terminated, timed-out.
	Status string `json:"status"`
	// SyncStatus is the sync's own (ExpirySyncStatus): success, partial, failed...
	SyncStatus string `json:"sync_status,omitempty"`
	WebURL     string `json:"web_url"`
}

func (a actionResult) statusText() string {
	if a.SyncStatus != "" && a.SyncStatus != a.Status {
		return a.Status + ", " + a.SyncStatus
	}
	return a.Status
}

func (s specView) text() string {
	var parts []string
	for _, c := range s.Cron {
		parts = append(parts, "cron "+c)
	}
	for _, ev := range s.Every {
		parts = append(parts, "every "+ev)
	}
	if len(parts) == 0 {
		parts = append(parts, "no times (trigger only)")
	}
	return strings.Join(parts, "; ") + " (" + s.Timezone + ")"
}

// scheduleView describes a schedule. statuses is how many of the most recent
// actions get their workflow's current status (-1: all): the schedule's own
// record of it is eventually consistent.
func (e *env) scheduleView(ctx context.Context, c client.Client, id string, statuses int) (scheduleView, error) {
	res, err := e.describeSchedule(ctx, c, id)
	if err != nil {
		return scheduleView{}, err
	}
	v := e.viewOf(id, res)
	if statuses < 0 || statuses > len(v.RecentActions) {
		statuses = len(v.RecentActions)
	}
	for i := len(v.RecentActions) - statuses; i < len(v.RecentActions); i++ {
		e.refreshStatus(ctx, c, &v.RecentActions[i])
	}
	return v, nil
}

func (e *env) viewOf(id string, res *workflowservice.DescribeScheduleResponse) scheduleView {
	s, info := res.GetSchedule(), res.GetInfo()
	sw := s.GetAction().GetStartWorkflow()
	v := scheduleView{
		ID:             id,
		Namespace:      e.temporal.Namespace,
		WebURL:         e.scheduleURL(id),
		Spec:           specOf(s.GetSpec()),
		Overlap:        overlapName(s.GetPolicies().GetOverlapPolicy()),
		CatchupWindow:  formatDuration(s.GetPolicies().GetCatchupWindow().AsDuration()),
		PauseOnFailure: s.GetPolicies().GetPauseOnFailure(),
		Paused:         s.GetState().GetPaused(),
		Note:           s.GetState().GetNotes(),
		Action: actionView{
			WorkflowType: sw.GetWorkflowType().GetName(),
			WorkflowID:   sw.GetWorkflowId(),
			TaskQueue:    sw.GetTaskQueue().GetName(),
		},
		ActionsTaken:   info.GetActionCount(),
		SkippedOverlap: info.GetOverlapSkipped(),
		MissedCatchup:  info.GetMissedCatchupWindow(),
		Buffered:       info.GetBufferSize(),
		Running:        runningIDs(info),
		NextRuns:       []time.Time{},
		RecentActions:  []actionResult{},
		CreatedAt:      info.GetCreateTime().AsTime(),
	}
	if s.GetPolicies().GetCatchupWindow() == nil {
		v.CatchupWindow = formatDuration(defaultCatchupWindow)
	}
	if info.GetUpdateTime() != nil {
		t := info.GetUpdateTime().AsTime()
		v.UpdatedAt = &t
	}
	dc := converter.GetDefaultDataConverter()
	if p := sw.GetUserMetadata().GetSummary(); p != nil {
		_ = dc.FromPayload(p, &v.Action.Summary)
	}
	if p := sw.GetSearchAttributes().GetIndexedFields()[workflows.AttrExpireDays.GetName()]; p != nil {
		var n int64
		if dc.FromPayload(p, &n) == nil {
			v.Action.ExpireDays = &n
		}
	}
	var in workflows.SyncInput
	if v.Action.WorkflowType == workflows.WorkflowName && len(sw.GetInput().GetPayloads()) == 1 &&
		dc.FromPayloads(sw.GetInput(), &in) == nil {
		v.Sync = &in
	}
	for _, t := range info.GetFutureActionTimes() {
		v.NextRuns = append(v.NextRuns, t.AsTime())
	}
	if len(v.NextRuns) > nextRunsShown {
		v.NextRuns = v.NextRuns[:nextRunsShown]
	}
	for _, a := range info.GetRecentActions() {
		wid := a.GetStartWorkflowResult().GetWorkflowId()
		v.RecentActions = append(v.RecentActions, actionResult{
			ScheduledAt: a.GetScheduleTime().AsTime(),
			StartedAt:   a.GetActualTime().AsTime(),
			WorkflowID:  wid,
			RunID:       a.GetStartWorkflowResult().GetRunId(),
			Status:      statusName(a.GetStartWorkflowStatus()),
			WebURL:      e.webURL(wid),
		})
	}
	return v
}

// refreshStatus reads the sync's current status: the schedule learns of it late.
func (e *env) refreshStatus(ctx context.Context, c client.Client, a *actionResult) {
	if a.WorkflowID == "" {
		return
	}
	desc, err := c.DescribeWorkflow(ctx, a.WorkflowID, "")
	if err != nil {
		return // keep the schedule's view
	}
	d := desc.RawResponse
	info := d.GetWorkflowExecutionInfo()
	a.Status = statusName(info.GetStatus())
	var st runState
	fillAttributes(&st, info.GetSearchAttributes().GetIndexedFields())
	a.SyncStatus = st.SyncStatus
}

// statusName is stateName, where unspecified means the schedule does not know yet.
func statusName(s enumspb.WorkflowExecutionStatus) string {
	if s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return "unknown"
	}
	return stateName(s)
}

func runningIDs(info *schedulepb.ScheduleInfo) []string {
	ids := []string{}
	for _, w := range info.GetRunningWorkflows() {
		ids = append(ids, w.GetWorkflowId())
	}
	return ids
}

func latestAction(actions []*schedulepb.ScheduleActionResult) *schedulepb.ScheduleActionResult {
	var last *schedulepb.ScheduleActionResult
	for _, a := range actions {
		if last == nil || !a.GetActualTime().AsTime().Before(last.GetActualTime().AsTime()) {
			last = a
		}
	}
	return last
}

func specOf(s *schedulepb.ScheduleSpec) specView {
	v := specView{Timezone: s.GetTimezoneName(), Jitter: formatDuration(s.GetJitter().AsDuration())}
	if v.Timezone == "" {
		v.Timezone = "UTC"
	}
	for _, cal := range s.GetStructuredCalendar() {
		v.Cron = append(v.Cron, cronOf(cal))
	}
	for _, iv := range s.GetInterval() {
		ev := formatDuration(iv.GetInterval().AsDuration())
		if ph := iv.GetPhase().AsDuration(); ph != 0 {
			ev += "/" + formatDuration(ph)
		}
		v.Every = append(v.Every, ev)
	}
	// A schedule whose cron strings were not compiled (never by Temporal
	// today) still shows them.
	v.Cron = append(v.Cron, s.GetCronString()...)
	return v
}

// cronOf prints a structured calendar as a cron expression: 5 fields when
// it fires at second 0 of any year, else 6 or 7.
func cronOf(c *schedulepb.StructuredCalendarSpec) string {
	field := func(rs []*schedulepb.Range, lo, hi int32, empty string) string {
		var parts []string
		for _, r := range rs {
			start, end, step := r.GetStart(), r.GetEnd(), r.GetStep()
			if end < start {
				end = start
			}
			var s string
			switch {
			case start == lo && end == hi:
				s = "*"
			case start == end:
				s = fmt.Sprint(start)
			default:
				s = fmt.Sprintf("%d-%d", start, end)
			}
			if step > 1 && start != end {
				s += fmt.Sprintf("/%d", step)
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			return empty
		}
		return strings.Join(parts, ",")
	}
	sec := field(c.GetSecond(), 0, 59, "0")
	fields := []string{
		field(c.GetMinute(), 0, 59, "0"), field(c.GetHour(), 0, 23, "0"), field(c.GetDayOfMonth(), 1, 31, "*"),
		field(c.GetMonth(), 1, 12, "*"), field(c.GetDayOfWeek(), 0, 6, "*"),
	}
	year := field(c.GetYear(), 0, 0, "")
	switch {
	case sec != "0":
		if year == "" {
			year = "*"
		}
		fields = append(append([]string{sec}, fields...), year)
	case year != "":
		fields = append(fields, year)
	}
	out := strings.Join(fields, " ")
	if c.GetComment() != "" {
		out += " # " + c.GetComment()
	}
	return out
}

func (v scheduleView) nextRun() *time.Time {
	if len(v.NextRuns) == 0 {
		return nil
	}
	return &v.NextRuns[0]
}

func (v scheduleView) nextRunText() string {
	if len(v.NextRuns) == 0 {
		return "none"
	}
	s := formatTime(v.NextRuns[0], v.Spec.Timezone)
	if v.Paused {
		s += " (paused: 'starter schedule unpause " + v.ID + "' to resume)"
	}
	return s
}

// print writes describe's human output.
func (v scheduleView) print(w io.Writer) {
	state := "active"
	if v.Paused {
		state = "paused"
	}
	kv := newKV(w)
	row := kv.row
	row("Schedule", v.ID)
	row("Namespace", v.Namespace)
	row("Web UI", v.WebURL)
	row("Spec", v.Spec.text())
	row("Jitter", v.Spec.Jitter)
	row("Overlap", v.Overlap)
	if v.CatchupWindow == formatDuration(defaultCatchupWindow) {
		row("Catchup window", v.CatchupWindow+" (one year, Temporal's default)")
	} else {
		row("Catchup window", v.CatchupWindow)
	}
	row("Pause on failure", yesNo(v.PauseOnFailure))
	row("State", state)
	row("Note", orDash(v.Note))
	row("Workflow", fmt.Sprintf("%s on task queue %s, id %s-<schedule time>", v.Action.WorkflowType, v.Action.TaskQueue, v.Action.WorkflowID))
	if v.Action.Summary != "" {
		row("Summary", v.Action.Summary)
	}
	if v.Sync != nil {
		in := v.Sync
		row("Sync options", knobsText(*in))
	}
	row("Actions", fmt.Sprintf("%d taken, %d skipped (overlap), %d missed (catchup window), %d buffered", v.ActionsTaken, v.SkippedOverlap, v.MissedCatchup, v.Buffered))
	row("Running", orDash(strings.Join(v.Running, ", ")))
	row("Created", formatTime(v.CreatedAt, v.Spec.Timezone))
	if v.UpdatedAt != nil {
		row("Updated", formatTime(*v.UpdatedAt, v.Spec.Timezone))
	}
	kv.flush()

	fmt.Fprintln(w)
	if len(v.NextRuns) == 0 {
		fmt.Fprintln(w, "Next runs: none")
	} else {
		title := "Next runs:"
		if v.Paused {
			title = "Next runs (none starts while paused):"
		}
		fmt.Fprintln(w, title)
		for _, t := range v.NextRuns {
			fmt.Fprintln(w, "  "+formatTime(t, v.Spec.Timezone))
		}
	}
	fmt.Fprintln(w)
	if len(v.RecentActions) == 0 {
		fmt.Fprintf(w, "Recent syncs: none yet (start one now with 'starter schedule trigger %s')\n", v.ID)
		return
	}
	fmt.Fprintln(w, "Recent syncs:")
	t := newTable(w)
	t.AppendHeader(table.Row{"SCHEDULED", "STARTED", "WORKFLOW ID", "STATUS"})
	for _, a := range v.RecentActions {
		t.AppendRow(table.Row{formatTime(a.ScheduledAt, v.Spec.Timezone), formatTime(a.StartedAt, v.Spec.Timezone), a.WorkflowID, a.statusText()})
	}
	t.Render()
}

func (e *env) scheduleURL(id string) string {
	return fmt.Sprintf("%s/namespaces/%s/schedules/%s", strings.TrimRight(e.temporal.UIURL, "/"), e.temporal.Namespace, id)
}

// formatTime prints a time in the schedule's time zone.
func formatTime(t time.Time, tz string) string {
	if t.IsZero() {
		return "-"
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

func decodeArg(args []any, v any) error {
	if len(args) != 1 {
		return fmt.Errorf("%d arguments, want 1", len(args))
	}
	p, ok := args[0].(*commonpb.Payload)
	if !ok {
		return fmt.Errorf("argument is %T, not a payload", args[0])
	}
	return converter.GetDefaultDataConverter().FromPayload(p, v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
