package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"expiry-sync/internal/contract"
	"expiry-sync/workflows"
)

// syncKnob is one option of a sync as a flag. The table below is the one
// place that knows them: sync and schedule create declare them, resume and
// schedule update copy the ones given, and describe prints them.
type syncKnob struct {
	flag  string
	usage string
	// ptr points at the knob's field; only int and string knobs exist.
	ptr func(in *workflows.SyncInput) any
	// fixed knobs cannot change once a sync has a checkpoint.
	fixed bool
	// values completes the flag in a shell (enumerations only).
	values []string
}

var syncKnobs = []syncKnob{
	{
		flag: "expire-days",
		usage: fmt.Sprintf(
			"sync the resources expiring within this many days from now (1..%d)",
			workflows.MaxExpireDays,
		),
		ptr:   func(in *workflows.SyncInput) any { return &in.ExpireDays },
		fixed: true,
	},
	{
		flag:  "lookback-days",
		usage: fmt.Sprintf("also sync resources expired up to this many days ago (0..%d)", workflows.MaxLookbackDays),
		ptr:   func(in *workflows.SyncInput) any { return &in.LookbackDays },
		fixed: true,
	},
	{
		flag:  "page-size",
		usage: fmt.Sprintf("resources per BSS listing call (%d..%d)", workflows.MinPageSize, workflows.DefaultPageSize),
		ptr:   func(in *workflows.SyncInput) any { return &in.PageSize },
		fixed: true,
	},
	{flag: "batch-size", usage: fmt.Sprintf("rows per database transaction (1..%d)", workflows.MaxBatchSize),
		ptr: func(in *workflows.SyncInput) any { return &in.BatchSize }},
	{flag: "tag-concurrency", usage: fmt.Sprintf("tag-query activities in flight (1..%d)", workflows.MaxTagConcurrency),
		ptr: func(in *workflows.SyncInput) any { return &in.TagConcurrency }},
	{
		flag:  "tags-per-activity",
		usage: fmt.Sprintf("resources whose tags one activity reads (1..%d)", workflows.MaxTagsPerActivity),
		ptr:   func(in *workflows.SyncInput) any { return &in.TagsPerActivity },
	},
	{
		flag: "tag-mode",
		usage: fmt.Sprintf(
			"how tags are read: per-resource, bulk (TMS ListResource) or auto (bulk from %d resources)",
			workflows.AutoBulkResources,
		),
		ptr:    func(in *workflows.SyncInput) any { return &in.TagMode },
		values: workflows.TagModes,
	},
}

// addSyncInputFlags declares the knobs' flags, with the defaults a sync uses.
func addSyncInputFlags(f *pflag.FlagSet, in *workflows.SyncInput) {
	*in = workflows.SyncInput{ExpireDays: 30, LookbackDays: contract.DefaultLookbackDays}.WithDefaults()
	for _, k := range syncKnobs {
		switch p := k.ptr(in).(type) {
		case *int:
			f.IntVar(p, k.flag, *p, k.usage)
		case *string:
			f.StringVar(p, k.flag, *p, k.usage)
		}
	}
}

// copyGivenKnobs sets in dst the knobs whose flags were given (from src).
func copyGivenKnobs(flags *pflag.FlagSet, dst *workflows.SyncInput, src workflows.SyncInput) {
	for _, k := range syncKnobs {
		if !flags.Changed(k.flag) {
			continue
		}
		switch p := k.ptr(dst).(type) {
		case *int:
			*p = *k.ptr(&src).(*int)
		case *string:
			*p = *k.ptr(&src).(*string)
		}
	}
}

// anyKnobGiven tells whether a knob's flag was given.
func anyKnobGiven(flags *pflag.FlagSet) bool {
	for _, k := range syncKnobs {
		if flags.Changed(k.flag) {
			return true
		}
	}
	return false
}

// knobValues renders each knob of in as (flag, value), in table order.
func knobValues(in workflows.SyncInput) [][2]string {
	out := make([][2]string, len(syncKnobs))
	for i, k := range syncKnobs {
		switch p := k.ptr(&in).(type) {
		case *int:
			out[i] = [2]string{k.flag, strconv.Itoa(*p)}
		case *string:
			out[i] = [2]string{k.flag, *p}
		}
	}
	return out
}

// knobsText renders in as the flags that would start it.
func knobsText(in workflows.SyncInput) string {
	var parts []string
	for _, kv := range knobValues(in) {
		parts = append(parts, "--"+kv[0]+" "+kv[1])
	}
	return strings.Join(parts, " ")
}

// syncOptions is a sync's input as the starter's output shows it: the
// knobs, named as their flags are.
type syncOptions struct {
	ExpireDays      int    `json:"expire_days" doc:"--expire-days"`
	LookbackDays    int    `json:"lookback_days" doc:"--lookback-days"`
	PageSize        int    `json:"page_size" doc:"--page-size"`
	BatchSize       int    `json:"batch_size" doc:"--batch-size"`
	TagConcurrency  int    `json:"tag_concurrency" doc:"--tag-concurrency"`
	TagsPerActivity int    `json:"tags_per_activity" doc:"--tags-per-activity"`
	TagMode         string `json:"tag_mode" doc:"--tag-mode"`
}

func syncOptionsOf(in workflows.SyncInput) syncOptions {
	in = in.WithDefaults()
	return syncOptions{
		ExpireDays:      in.ExpireDays,
		LookbackDays:    in.LookbackDays,
		PageSize:        in.PageSize,
		BatchSize:       in.BatchSize,
		TagConcurrency:  in.TagConcurrency,
		TagsPerActivity: in.TagsPerActivity,
		TagMode:         in.TagMode,
	}
}

// validateFlags checks the knobs as typed (flags carry their defaults, so
// a 0 or "" was typed: WithDefaults would read it as "unset", and
// expire_days 0 as "the account's defaults") and names the flag of the
// first bad one.
func validateFlags(in workflows.SyncInput) (workflows.SyncInput, error) {
	if in.TagMode == "" {
		return in, flagError(&workflows.ChoiceError{Field: "tag_mode", Value: in.TagMode, Allowed: workflows.TagModes})
	}
	if in.ExpireDays < 1 || in.ExpireDays > workflows.MaxExpireDays {
		return in, flagError(
			&workflows.RangeError{Field: "expire_days", Value: in.ExpireDays, Min: 1, Max: workflows.MaxExpireDays},
		)
	}
	return validateStored(in)
}

// validateStored checks a stored input (a schedule's action), where
// expire_days 0 and an empty tag mode leave the window and the tag mode to
// the account's defaults; it keeps them so.
func validateStored(in workflows.SyncInput) (workflows.SyncInput, error) {
	if err := in.Validate(); err != nil {
		return in, flagError(err)
	}
	if in.ExpireDays == 0 {
		mode := in.TagMode
		in = in.WithDefaults()
		in.TagMode = mode
		return in, nil
	}
	return in.WithDefaults(), nil
}

func flagName(field string) string { return strings.ReplaceAll(field, "_", "-") }

// flagError turns a workflow input error into one about the starter's flag.
func flagError(err error) error {
	var re *workflows.RangeError
	if errors.As(err, &re) {
		return fmt.Errorf("--%s=%d is out of range: allowed %d..%d", flagName(re.Field), re.Value, re.Min, re.Max)
	}
	var ce *workflows.ChoiceError
	if errors.As(err, &ce) {
		return fmt.Errorf(
			"--%s=%q is not allowed: use one of %s",
			flagName(ce.Field),
			ce.Value,
			strings.Join(ce.Allowed, ", "),
		)
	}
	return err
}
