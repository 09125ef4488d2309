package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"expiry-sync/internal/contract"
	"expiry-sync/internal/inventory"
)

// tagGroup is the work of one FetchTags activity.
type tagGroup struct {
	targets      []inventory.TagTarget
	fromSnapshot bool // the sync's bulk snapshot serves these targets
}

// bulkGroupSize: resources per FetchTags activity when their tags come
// from the snapshot (a database read, no API call).
const bulkGroupSize = 100

// fetchTags reads the tags of the resources with at most TagConcurrency
// activities in flight (a sliding window: Await on the in-flight count),
// each covering TagsPerActivity resources (or a bulkGroupSize of snapshot
// reads). Resources whose type TMS does not serve are answered here without
// a call, and so are all of them once an older worker said TMS refused the
// account. The scopes TMS refused so far go with each activity, which
// answers their resources without a call (contract.Denial).
func (s *syncRun) fetchTags(
	ctx workflow.Context,
	offset int,
	resources []inventory.Resource,
) (map[string]inventory.TagResult, error) {
	p := s.progress()
	results := make(map[string]inventory.TagResult, len(resources))
	var targets []inventory.TagTarget
	for _, r := range resources {
		if s.tagType(r) == "" {
			results[r.ResourceID] = inventory.TagResult{ResourceID: r.ResourceID, Status: inventory.TagsUnsupported}
			p.TagsUnsupported++
			continue
		}
		t := inventory.TagTarget{ResourceID: r.ResourceID, ProjectID: r.ProjectID, ResourceTypeCode: r.ResourceTypeCode}
		if s.v.leasedListing() {
			t.TagType, t.EnterpriseProjectID = r.TagType, r.EnterpriseProjectID
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return results, nil
	}
	groups, err := s.tagGroups(ctx, targets, resources)
	if err != nil {
		return nil, err
	}
	s.setPhase(ctx, fmt.Sprintf("reading tags of %d resources at offset %d (%d activities, %d at a time)",
		len(targets), offset, len(groups), s.in.TagConcurrency))

	actx, cancel := workflow.WithCancel(ctx) // the activities', canceled on the first failure
	defer cancel()
	var firstErr error
	inFlight := 0
	for i, g := range groups {
		if err := workflow.Await(ctx, func() bool { return inFlight < s.in.TagConcurrency }); err != nil {
			return nil, err
		}
		if firstErr != nil {
			break
		}
		if s.v.leasedListing() && s.cursor.Denied != "" {
			s.recordTags(contract.FetchTagsResult{Results: deniedResults(g.targets, s.cursor.Denied)}, results)
			continue
		}
		opts := tagOptions(fmt.Sprintf("tags offset %d group %d/%d", offset, i+1, len(groups)))
		f := workflow.ExecuteActivity(
			workflow.WithActivityOptions(actx, opts),
			contract.ActivityFetchTags,
			contract.FetchTagsInput{
				Account:      s.in.Account,
				SyncID:       s.syncID,
				Generation:   s.cursor.Generation,
				LeaseToken:   s.cursor.LeaseToken,
				Resources:    g.targets,
				FromSnapshot: g.fromSnapshot,
				Denials:      s.cursor.Denials,
			},
		)
		inFlight++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { inFlight-- }()
			var r contract.FetchTagsResult
			if err := f.Get(ctx, &r); err != nil {
				if firstErr == nil {
					firstErr = err
					cancel() // stop the rest: the page fails anyway
				}
				if !temporal.IsCanceledError(err) {
					p.Failures++
				}
				return
			}
			s.recordTags(r, results)
		})
	}
	if err := workflow.Await(ctx, func() bool { return inFlight == 0 }); err != nil && firstErr == nil {
		firstErr = err
	}
	return results, firstErr
}

// tagType is the TMS type a resource's tags are read under, "" for none:
// the listing activity says it from the catalog (data the workflow never
// holds); the first version looked it up in a table frozen here.
func (s *syncRun) tagType(r inventory.Resource) string {
	if s.v.leasedListing() {
		return r.TagType
	}
	return legacyTMSTypes[r.ResourceTypeCode]
}

// deniedResults answers resources whose tags TMS refused to the account:
// errors that keep the stored tags.
func deniedResults(targets []inventory.TagTarget, reason string) []inventory.TagResult {
	out := make([]inventory.TagResult, len(targets))
	for i, t := range targets {
		out[i] = inventory.TagResult{ResourceID: t.ResourceID, Status: inventory.TagsError, Error: reason}
	}
	return out
}

// tagGroups cuts the targets into activities: in bulk mode, those of a
// project and type that TMS lists in bulk are read from the sync's snapshot
// (taken here on first sight of the pair); the others are queried one by one.
func (s *syncRun) tagGroups(
	ctx workflow.Context,
	targets []inventory.TagTarget,
	resources []inventory.Resource,
) ([]tagGroup, error) {
	if !s.useBulk() {
		return groupsOf(targets, s.in.TagsPerActivity, false), nil
	}
	types := make(map[string]string, len(resources))
	for _, r := range resources {
		types[r.ResourceID] = s.tagType(r)
	}
	pair := func(t inventory.TagTarget) string { return t.ProjectID + "/" + types[t.ResourceID] }
	if err := s.snapshot(ctx, targets, pair); err != nil {
		return nil, err
	}
	var bulk, single []inventory.TagTarget
	for _, t := range targets {
		if slices.Contains(s.cursor.NoBulk, pair(t)) || (s.v.leasedListing() && t.ProjectID == "") {
			single = append(single, t)
		} else {
			bulk = append(bulk, t)
		}
	}
	return append(groupsOf(bulk, bulkGroupSize, true), groupsOf(single, s.in.TagsPerActivity, false)...), nil
}

func groupsOf(targets []inventory.TagTarget, size int, fromSnapshot bool) []tagGroup {
	var out []tagGroup
	for g := range slices.Chunk(targets, size) {
		out = append(out, tagGroup{targets: g, fromSnapshot: fromSnapshot})
	}
	return out
}

func (s *syncRun) useBulk() bool {
	switch s.in.TagMode {
	case TagModeBulk:
		return true
	case TagModeAuto:
		return s.progress().TotalCount >= AutoBulkResources
	}
	return false
}

// snapshot reads in bulk the project/type pairs of these targets that this
// sync has not read yet, all at once. A pair that bulk cannot serve, for
// whatever reason but bad credentials, falls back to one call per resource
// and the reason is noted: bulk mode never fails a sync that per-resource
// mode would complete.
func (s *syncRun) snapshot(
	ctx workflow.Context,
	targets []inventory.TagTarget,
	pairOf func(inventory.TagTarget) string,
) error {
	c := &s.cursor
	var pairs []string
	for _, t := range targets {
		pair := pairOf(t)
		if s.v.leasedListing() && t.ProjectID == "" {
			continue // no project, no bulk listing
		}
		if !slices.Contains(pairs, pair) && !slices.Contains(c.Snapshots, pair) && !slices.Contains(c.NoBulk, pair) {
			pairs = append(pairs, pair)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	s.setPhase(ctx, fmt.Sprintf("reading the tags of %d project/type pairs in bulk", len(pairs)))
	futures := make([]workflow.Future, len(pairs))
	for i, pair := range pairs {
		expected := 0
		if s.v.leasedListing() {
			expected = s.expectedOfPair(targets, pairOf, pair)
		}
		futures[i] = s.snapshotPair(ctx, pair, expected)
	}
	var firstErr error
	for i, f := range futures {
		var r contract.SnapshotTagsResult
		err := f.Get(ctx, &r)
		firstErr = firstOf(firstErr, s.recordSnapshot(pairs[i], r, err))
	}
	return firstErr
}

// snapshotPair starts reading one project/type pair in bulk.
func (s *syncRun) snapshotPair(ctx workflow.Context, pair string, expected int) workflow.Future {
	project, tmsType, _ := strings.Cut(pair, "/")
	in := contract.SnapshotTagsInput{
		Account:    s.in.Account,
		SyncID:     s.syncID,
		Generation: s.cursor.Generation,
		LeaseToken: s.cursor.LeaseToken,
		ProjectID:  project,
		TMSType:    tmsType,
		Expected:   expected,
	}
	return workflow.ExecuteActivity(
		workflow.WithActivityOptions(ctx, tagOptions("bulk tags "+pair)),
		contract.ActivitySnapshotTags,
		in,
	)
}

// recordSnapshot records a pair's bulk read: read, or (noted) sent to
// one-by-one reads. Only a failure one-by-one reads would meet too fails.
func (s *syncRun) recordSnapshot(pair string, r contract.SnapshotTagsResult, err error) error {
	c, p := &s.cursor, s.progress()
	if err != nil && s.v.leasedListing() && !fatalForBulk(err) {
		p.Failures++
		r.Unsupported = ErrorText(err)
		err = nil
	}
	if err != nil {
		p.Failures++
		return err
	}
	p.Retries += r.Retries
	p.TagsSnapshotted += r.Resources
	if r.Unsupported != "" {
		c.NoBulk = append(c.NoBulk, pair)
		if s.v.leasedListing() {
			addNote(&c.Notes.Fallbacks, fmt.Sprintf("bulk tags of %s read one by one: %s", pair, r.Unsupported))
		}
	} else {
		c.Snapshots = append(c.Snapshots, pair)
	}
	return nil
}

// expectedOfPair estimates how many resources of the account a pair holds:
// its share of this page times the listing's total. It bounds the calls a
// bulk strategy may spend before one call per resource is cheaper.
func (s *syncRun) expectedOfPair(
	targets []inventory.TagTarget,
	pairOf func(inventory.TagTarget) string,
	pair string,
) int {
	n := 0
	for _, t := range targets {
		if pairOf(t) == pair {
			n++
		}
	}
	if total := s.progress().TotalCount; total > len(targets) {
		return n * total / len(targets)
	}
	return n
}

// fatalForBulk: failures that one-by-one reads would meet too, or that say
// the sync must stop, are not fallen back from.
func fatalForBulk(err error) bool {
	var app *temporal.ApplicationError
	if temporal.IsCanceledError(err) {
		return true
	}
	return errors.As(err, &app) && app.Type() == contract.ErrTypeHuaweiAuth
}

func (s *syncRun) recordTags(r contract.FetchTagsResult, into map[string]inventory.TagResult) {
	p := s.progress()
	p.Retries += r.Retries
	s.noteDenied(r.Denied)
	s.noteDenials(r.Denials)
	for _, t := range r.Results {
		into[t.ResourceID] = t
		p.TagsFetched++
		switch t.Status {
		case inventory.TagsError:
			p.TagErrors++
		case inventory.TagsNotFound:
			p.Vanished++
		}
	}
}

// noteDenied records that TMS refused the account's tag reads (an older
// worker's account-wide refusal): no more are tried, the stored tags are
// kept, and the sync is partial.
func (s *syncRun) noteDenied(reason string) {
	if reason == "" || s.cursor.Denied != "" {
		return
	}
	s.cursor.Denied = reason
	s.progress().TagsDenied = reason
	addNote(
		&s.cursor.Notes.Degraded,
		"TMS refused to read tags for this account, so the stored tags were kept: "+reason,
	)
}

// noteDenials records the scopes TMS refused: their resources are not
// asked again, their stored tags are kept, the other scopes are still
// read, and the sync is partial, naming each scope and its permission.
func (s *syncRun) noteDenials(ds []contract.Denial) {
	c := &s.cursor
	for _, d := range ds {
		if slices.ContainsFunc(c.Denials, func(k contract.Denial) bool { return k.Scope == d.Scope }) {
			continue
		}
		c.Denials = append(c.Denials, d)
		if p := s.progress(); p.TagsDenied == "" {
			p.TagsDenied = d.Reason
		}
		addNote(&c.Notes.Degraded, fmt.Sprintf(
			"TMS refused to read the tags of %s, so their stored tags were kept (the other types were read): %s",
			scopeText(d.Scope),
			d.Reason,
		))
	}
}

// scopeText names a refused scope for people.
func scopeText(scope string) string {
	if scope == contract.EveryTagScope {
		return "every resource type"
	}
	if t, ep, ok := strings.Cut(scope, "@"); ok {
		return "TMS type " + t + " in enterprise project " + ep
	}
	return "TMS type " + scope
}
