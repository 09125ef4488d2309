package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/report"
	"expiry-sync/internal/testkit/hwsim"
	"expiry-sync/internal/testkit/testenv"
	"expiry-sync/workflows"
)

// reportJSON runs `starter report ... -o json` and decodes it, returning
// the instants just before and after the run: the report's "now" lies between.
func (s *stack) reportJSON(args ...string) (items []report.Item, before, after time.Time) {
	s.t.Helper()
	before = time.Now()
	code, out, errOut := s.starter(append([]string{"report", "-o", "json"}, args...)...)
	after = time.Now()
	require.Equal(s.t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Empty(s.t, errOut)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(s.t, dec.Decode(&items))
	return items, before, after
}

// expectedReport lists, in report order, the simulator's resources the sync
// stored as active whose expire time is at most `by`, keeping those match
// accepts; uncertain lists those expiring between by and byLate, which the
// report may or may not include depending on its exact "now".
func expectedReport(s *stack, windowBegin, by, byLate time.Time, match func(hwsim.Resource) bool) (want []hwsim.Resource, uncertain map[string]bool) {
	uncertain = map[string]bool{}
	for _, r := range s.sim.Resources() {
		if r.ExpireTime.Before(windowBegin) || !slices.Contains(workflows.DefaultStatuses, int(r.Status)) || !match(r) {
			continue
		}
		switch {
		case !r.ExpireTime.After(by):
			want = append(want, r)
		case !r.ExpireTime.After(byLate):
			uncertain[r.ResourceID] = true
		}
	}
	slices.SortFunc(want, func(a, b hwsim.Resource) int {
		return cmp.Or(a.ExpireTime.Compare(b.ExpireTime), strings.Compare(a.ResourceID, b.ResourceID))
	})
	return want, uncertain
}

// storedTags is what the inventory holds for a simulator resource's tags:
// nil (unknown) for types TMS is not asked about, {} for none.
func storedTags(r hwsim.Resource) map[string]string {
	if r.TMSResourceType == "" {
		return nil
	}
	if r.Tags == nil {
		return map[string]string{}
	}
	return r.Tags
}

// assertReport checks that the report holds exactly want, in order, with
// their tags, give or take the resources at the window's edge.
func assertReport(t *testing.T, got []report.Item, want []hwsim.Resource, uncertain map[string]bool, before, after time.Time) {
	t.Helper()
	got = slices.DeleteFunc(slices.Clone(got), func(r report.Item) bool { return uncertain[r.ResourceID] })
	gotIDs := make([]string, len(got))
	for i, r := range got {
		gotIDs[i] = r.ResourceID
	}
	wantIDs := make([]string, len(want))
	for i, r := range want {
		wantIDs[i] = r.ResourceID
	}
	require.Equal(t, wantIDs, gotIDs, "resource ids, in expire order")
	for i, w := range want {
		g := got[i]
		assert.Equal(t, storedTags(w), g.Tags, "tags of %s", w.ResourceID)
		assert.True(t, w.ExpireTime.Equal(g.ExpireTime), "%s expires %s, reported %s", w.ResourceID, w.ExpireTime, g.ExpireTime)
		assert.True(t, g.IsActive, w.ResourceID)
		lo := int(math.Floor(w.ExpireTime.Sub(after).Hours() / 24))
		hi := int(math.Floor(w.ExpireTime.Sub(before).Hours() / 24))
		assert.True(t, g.DaysLeft >= lo && g.DaysLeft <= hi, "%s: days left %d, want %d..%d", w.ResourceID, g.DaysLeft, lo, hi)
	}
}

func TestReportAfterRealSync(t *testing.T) {
	for _, db := range testenv.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			s := newStack(t, stackOptions{resources: 1500, seed: 2027, dbURL: db.URL})
			code, out, errOut := s.starter("sync", "--expire-days", "30", "--wait")
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			log := s.syncLog(syncIDFrom(t, out))
			t.Setenv("DATABASE_URL", s.dbURL)
			const week = 7 * 24 * time.Hour
			all := func(hwsim.Resource) bool { return true }

			// Every active resource expiring within 7 days, expired ones included.
			got, before, after := s.reportJSON("--expire-days", "7")
			want, uncertain := expectedReport(s, log.WindowBegin, before.Add(week), after.Add(week), all)
			require.Greater(t, len(want), 20, "the dataset has resources expiring this week")
			require.True(t, slices.ContainsFunc(want, func(r hwsim.Resource) bool { return r.ExpireTime.Before(before) }),
				"some resources are already expired")
			require.True(t, slices.ContainsFunc(want, func(r hwsim.Resource) bool { return r.TMSResourceType == "" }),
				"some resources have no tags to read")
			assertReport(t, got, want, uncertain, before, after)

			// The table says how many.
			code, out, errOut = s.starter("report", "--expire-days", "7")
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, fmt.Sprintf("│ %d resources expiring by ", len(got)))
			assert.Equal(t, len(got)+6, strings.Count(out, "\n"), "header, rows and footer:\n%s", out)

			// One tag: the most frequent key=value pair among them, then the
			// most frequent awkward one.
			for _, keep := range []func(k, v string) bool{func(string, string) bool { return true }, awkward} {
				key, value := commonTag(want, keep)
				require.NotEmpty(t, key)
				got, before, after = s.reportJSON("--expire-days", "7", "--tag", key+"="+value)
				wantTag, uncertain := expectedReport(s, log.WindowBegin, before.Add(week), after.Add(week), func(r hwsim.Resource) bool {
					v, ok := storedTags(r)[key]
					return ok && v == value
				})
				require.NotEmpty(t, wantTag, "--tag %q", key+"="+value)
				require.Less(t, len(wantTag), len(want), "--tag %q", key+"="+value)
				assertReport(t, got, wantTag, uncertain, before, after)
				t.Logf("%d of %d resources expire within 7 days; --tag %.50q picks %d", len(want), s.sim.Len(), key+"="+value, len(wantTag))
			}

			// Two tags of one resource: both must match.
			var pair [2][2]string
			for _, r := range want {
				if len(r.Tags) >= 2 {
					keys := slices.Sorted(func(yield func(string) bool) {
						for k := range r.Tags {
							if !strings.Contains(k, "=") && !yield(k) {
								return
							}
						}
					})
					if len(keys) >= 2 {
						pair = [2][2]string{{keys[0], r.Tags[keys[0]]}, {keys[1], r.Tags[keys[1]]}}
						break
					}
				}
			}
			require.NotEmpty(t, pair[0][0], "a resource with two tags")
			got, before, after = s.reportJSON("--expire-days", "7", "--tag", pair[0][0]+"="+pair[0][1], "--tag", pair[1][0]+"="+pair[1][1])
			wantBoth, uncertain := expectedReport(s, log.WindowBegin, before.Add(week), after.Add(week), func(r hwsim.Resource) bool {
				tags := storedTags(r)
				v0, ok0 := tags[pair[0][0]]
				v1, ok1 := tags[pair[1][0]]
				return ok0 && ok1 && v0 == pair[0][1] && v1 == pair[1][1]
			})
			require.NotEmpty(t, wantBoth)
			assertReport(t, got, wantBoth, uncertain, before, after)
		})
	}
}

// commonTag returns the key=value pair most of these resources carry among
// those keep accepts (ties broken by key then value), skipping keys with '='
// that --tag cannot name; "" when none.
func commonTag(rs []hwsim.Resource, keep func(k, v string) bool) (string, string) {
	counts := map[[2]string]int{}
	for _, r := range rs {
		for k, v := range r.Tags {
			if !strings.Contains(k, "=") && keep(k, v) {
				counts[[2]string{k, v}]++
			}
		}
	}
	var best [2]string
	n := 0
	for kv, c := range counts {
		if c > n || c == n && (kv[0] < best[0] || kv[0] == best[0] && kv[1] < best[1]) {
			best, n = kv, c
		}
	}
	return best[0], best[1]
}

// awkward tells a tag that SQL LIKE, JSON or shell quoting could get wrong:
// quotes, backslashes, %, _, spaces or anything beyond ASCII.
func awkward(k, v string) bool {
	return strings.ContainsFunc(k+v, func(r rune) bool { return r > 127 || strings.ContainsRune(`"'\%_ `, r) })
}
