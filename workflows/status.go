package workflows

import (
	"errors"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// upsertAttributes publishes the sync's state to the Web UI's workflow list:
// once per page at most, never per resource (each upsert is a history event).
func (s *syncRun) upsertAttributes(ctx workflow.Context, status string, resources int) {
	err := workflow.UpsertTypedSearchAttributes(ctx,
		AttrAccount.ValueSet(s.in.Account),
		AttrSyncStatus.ValueSet(status),
		AttrExpiringResources.ValueSet(int64(resources)),
		AttrExpireDays.ValueSet(int64(s.in.ExpireDays)),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// maxNotes bounds each list of notes that crosses history.
const maxNotes = 20

// addNote appends a note once, up to maxNotes.
func addNote(notes *[]string, note string) {
	if len(*notes) < maxNotes && !slices.Contains(*notes, note) {
		*notes = append(*notes, note)
	}
}

// ErrorText explains a sync failure in one line: the innermost application
// error's message, which names the API or the batch (Temporal's wrappers add
// only event ids).
func ErrorText(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		var act *temporal.ActivityError
		if errors.As(err, &act) {
			return act.ActivityType().GetName() + ": " + app.Message()
		}
		return app.Message()
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "canceled"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out: " + timeout.Error()
	}
	return err.Error()
}

// setPhase says what the sync does; with setWriting (the committer's part,
// which runs beside it) it is the progress query's phase and the run's
// current details in the Web UI.
func (s *syncRun) setPhase(ctx workflow.Context, phase string) {
	s.phase = phase
	s.showPhase(ctx)
}

func (s *syncRun) setWriting(ctx workflow.Context, writing string) {
	s.writing = writing
	s.showPhase(ctx)
}

func (s *syncRun) showPhase(ctx workflow.Context) {
	phase := s.phase
	if s.writing != "" {
		phase += " · " + s.writing
	}
	s.progress().Phase = phase
	workflow.SetCurrentDetails(ctx, phase)
}
