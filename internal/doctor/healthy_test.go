package doctor_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/doctor"
	"expiry-sync/internal/testkit/hwsim"
)

// Only a failure fails the report (worker check exits 1): a warning does
// not, nor does a skip, whose cause failed on its own line.
func TestOnlyAFailureFailsTheReport(t *testing.T) {
	warned := doctor.Report{Checks: []doctor.Check{{Name: "a", OK: true}, {Name: "b", Warning: true, Detail: "off", Fix: "nothing"}}}
	assert.False(t, warned.Failed())
	_, out := lines(t, warned)
	assert.Contains(t, out, "warn  b: off; to do: nothing")
	failed := doctor.Report{Checks: []doctor.Check{{Name: "a", Detail: "broken"}, {Name: "b", Skipped: true, Detail: "needs a"}}}
	assert.True(t, failed.Failed())
}

// An account with nothing in its window passes, saying there was nothing
// to probe TMS with.
func TestAnEmptyAccountPassesWithANote(t *testing.T) {
	cfg, _ := deploymentOf(t, 0, hwsim.Knobs{})
	r := report(doctor.Huawei(context.Background(), cfg.Huawei))
	byName, out := lines(t, r)
	assert.False(t, r.Failed(), out)
	assert.Contains(t, byName["huawei BSS (credentials, site, listing permission)"], "no yearly/monthly resource")
	for _, name := range []string{"IAM tms:resourceTags:list", "IAM tms:resources:list"} {
		assert.True(t, strings.HasPrefix(byName[name], "ok "), out)
		assert.Contains(t, byName[name], "nothing to probe")
	}
}

// A partner account reads no tags (TMS has no customer_id): its TMS checks
// pass, saying why, and TMS is not called.
func TestAPartnerAccountPassesWithoutTMS(t *testing.T) {
	cfg, sim := deployment(t, hwsim.Knobs{})
	cfg.Huawei.PartnerDomainID, cfg.Huawei.DomainID = domain, "c0570000000000000000000000000001"
	r := report(doctor.Huawei(context.Background(), cfg.Huawei))
	byName, out := lines(t, r)
	assert.False(t, r.Failed(), out)
	for _, name := range []string{"huawei TMS (credentials, endpoint)", "IAM tms:resourceTags:list", "IAM tms:resources:list"} {
		assert.True(t, strings.HasPrefix(byName[name], "ok "), out)
		assert.Contains(t, byName[name], "not needed: listed through a partner account")
	}
	assert.Zero(t, sim.Stats().APIs[hwsim.APITMSProviders].Requests+sim.Stats().APIs[hwsim.APITMSShow].Requests)
}

// The TMS probes look through a page of records for one with tags to read;
// when none has, the probes cannot run: a warning, not a failure.
func TestNoTaggableResourceToProbeIsAWarning(t *testing.T) {
	cfg, sim := deployment(t, hwsim.Knobs{})
	var ids []string
	for r := range sim.All() {
		ids = append(ids, r.ResourceID)
	}
	assert.NoError(t, sim.SetKnobs(hwsim.Knobs{NoProjectResourceIDs: ids}))
	r := report(doctor.Huawei(context.Background(), cfg.Huawei))
	byName, out := lines(t, r)
	assert.False(t, r.Failed(), out)
	assert.True(t, strings.HasPrefix(byName["IAM tms:resourceTags:list"], "warn"), out)
	assert.Contains(t, byName["IAM tms:resourceTags:list"], "none of the first 50 listed resources has tags to read")
}

// The probe takes a taggable record among the first page, not only the
// first record.
func TestTheProbeLooksThroughAPageOfRecords(t *testing.T) {
	cfg, sim := deployment(t, hwsim.Knobs{})
	var ids []string
	last := -1 // the last taggable record: every one before it loses its project
	for r := range sim.All() {
		if r.TMSResourceType != "" {
			last = len(ids)
		}
		ids = append(ids, r.ResourceID)
	}
	require.Greater(t, last, 10)
	require.NoError(t, sim.SetKnobs(hwsim.Knobs{NoProjectResourceIDs: slices.Delete(ids, last, last+1)}))
	byName, out := lines(t, report(doctor.Huawei(context.Background(), cfg.Huawei)))
	assert.True(t, strings.HasPrefix(byName["IAM tms:resourceTags:list"], "ok "), out)
}

// What the sync copes with is a warning: no bulk tag API (it reads tags
// one by one), ListProviders refused under roles and policies (it reads
// every type of its catalog).
func TestWhatTheSyncCopesWithIsAWarning(t *testing.T) {
	for name, tc := range map[string]struct {
		knobs hwsim.Knobs
		check string
		want  string
	}{
		"no bulk tag API":       {hwsim.Knobs{BulkEmptyFilter: hwsim.BulkMissing}, "IAM tms:resources:list", "no bulk tag API"},
		"ListProviders refused": {hwsim.Knobs{TMSProvidersRefused: true}, "huawei TMS (credentials, endpoint)", "Tenant Guest"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, _ := deployment(t, tc.knobs)
			r := report(doctor.Huawei(context.Background(), cfg.Huawei))
			byName, out := lines(t, r)
			assert.False(t, r.Failed(), out)
			assert.True(t, strings.HasPrefix(byName[tc.check], "warn"), out)
			assert.Contains(t, byName[tc.check], tc.want)
			assert.True(t, strings.HasPrefix(byName["IAM tms:resourceTags:list"], "ok "), "the probes still run: %s", out)
		})
	}
}

// A refused tag read fails, naming the probed type and both permissions it
// needs (TMS's and the owning service's).
func TestARefusedTagReadFailsNamingTheTypeAndPermissions(t *testing.T) {
	cfg, _ := deployment(t, hwsim.Knobs{TMSDeniedTypes: []string{"ecs", "disk", "eip"}})
	r := report(doctor.Huawei(context.Background(), cfg.Huawei))
	byName, out := lines(t, r)
	assert.True(t, r.Failed())
	show := byName["IAM tms:resourceTags:list"]
	assert.True(t, strings.HasPrefix(show, "FAIL"), out)
	assert.Contains(t, show, "may not read the tags of TMS type")
	assert.Contains(t, show, "grant it tms:resourceTags:list and")
}
