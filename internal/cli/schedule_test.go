package cli_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"expiry-sync/internal/cli"
)

func TestScheduleBadInputExitsTwoNamingTheValue(t *testing.T) {
	// Nothing listens on port 1: bad input must be refused before any dial
	// (a dial would fail with exit 1, "cannot connect to Temporal").
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	longID := strings.Repeat("a", 201)
	for _, c := range []struct {
		args []string
		want string
	}{
		// The ID.
		{[]string{"schedule", "create", "--interval", "1h"}, "starter schedule create needs exactly one schedule ID: accepts 1 arg(s), received 0 (see 'starter schedule create --help')"},
		{[]string{"schedule", "create", "a", "b", "--interval", "1h"}, "starter schedule create needs exactly one schedule ID: accepts 1 arg(s), received 2"},
		{[]string{"schedule", "create", "bad id!", "--interval", "1h"}, `schedule ID "bad id!" is invalid: allowed 1..200 characters of A-Z a-z 0-9 . _ -`},
		{[]string{"schedule", "create", "a/b", "--interval", "1h"}, `schedule ID "a/b" is invalid: allowed 1..200 characters of A-Z a-z 0-9 . _ -`},
		{[]string{"schedule", "create", "", "--interval", "1h"}, `schedule ID "" is invalid: allowed 1..200 characters`},
		{[]string{"schedule", "create", "nächtlich", "--interval", "1h"}, `schedule ID "nächtlich" is invalid`},
		{[]string{"schedule", "create", longID, "--interval", "1h"}, `schedule ID "` + longID + `" is invalid: allowed 1..200 characters`},
		// --cron / --interval.
		{[]string{"schedule", "create", "nightly"}, "give exactly one of --cron EXPR or --interval DURATION (see 'starter schedule create --help')"},
		{[]string{"schedule", "create", "nightly", "--expire-days", "7"}, "give exactly one of --cron EXPR or --interval DURATION"},
		{[]string{"schedule", "create", "nightly", "--cron", "0 2 * * *", "--interval", "1h"}, "--cron and --interval cannot be combined: give exactly one"},
		{[]string{"schedule", "create", "nightly", "--cron", ""}, `--cron "" is empty: give a cron expression such as "0 2 * * *" or @daily`},
		{[]string{"schedule", "create", "nightly", "--cron", "   "}, `--cron "" is empty`},
		{[]string{"schedule", "create", "nightly", "--cron", "@every 10s"}, `--cron "@every 10s": use --interval for intervals, e.g. --interval 6h`},
		{[]string{"schedule", "create", "nightly", "--cron", "CRON_TZ=Asia/Shanghai 0 2 * * *"}, `--cron "CRON_TZ=Asia/Shanghai 0 2 * * *": give the time zone with --time-zone, not in the expression`},
		{[]string{"schedule", "create", "nightly", "--cron", "TZ=UTC 0 2 * * *"}, `--cron "TZ=UTC 0 2 * * *": give the time zone with --time-zone`},
		{[]string{"schedule", "create", "nightly", "--interval", "abc"}, `invalid argument "abc" for "--interval" flag: not a duration: use a number with a unit, e.g. 90s, 30m, 6h or 24h`},
		{[]string{"schedule", "create", "nightly", "--interval", "1d"}, `invalid argument "1d" for "--interval" flag: not a duration`},
		{[]string{"schedule", "create", "nightly", "--interval", "30s"}, "--interval=30s is out of range: allowed 1m or more"},
		{[]string{"schedule", "create", "nightly", "--interval", "0s"}, "--interval=0s is out of range: allowed 1m or more"},
		{[]string{"schedule", "create", "nightly", "--interval", "-5m"}, "--interval=-5m is out of range: allowed 1m or more"},
		// Time zone, jitter, catchup window, overlap.
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--time-zone", "Mars/Olympus"}, `--time-zone "Mars/Olympus" is not a known time zone: use an IANA name such as UTC, Asia/Shanghai or Europe/Berlin`},
		{[]string{"schedule", "create", "nightly", "--cron", "0 2 * * *", "--time-zone", "Local"}, `--time-zone "Local" is not a known time zone`},
		{[]string{"schedule", "create", "nightly", "--cron", "0 2 * * *", "--time-zone", ""}, `--time-zone "" is not a known time zone`},
		{[]string{"schedule", "create", "nightly", "--cron", "0 2 * * *", "--time-zone", "../../etc/passwd"}, `--time-zone "../../etc/passwd" is not a known time zone`},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--jitter", "-1s"}, "--jitter=-1s is out of range: allowed 0s or more"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--jitter", "soon"}, `invalid argument "soon" for "--jitter" flag: not a duration`},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--catchup-window", "5s"}, "--catchup-window=5s is out of range: allowed 10s or more (Temporal's minimum), or 0 for Temporal's default of one year"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--catchup-window", "-1m"}, "--catchup-window=-1m is out of range: allowed 10s or more"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--overlap-policy", "sometimes"}, `invalid argument "sometimes" for "--overlap-policy" flag: allowed skip, buffer-one, buffer-all, allow-all, cancel-other, terminate-other`},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--overlap-policy", ""}, `invalid argument "" for "--overlap-policy" flag: allowed skip, buffer-one`},
		// The sync's knobs, as `sync` checks them.
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--expire-days", "0"}, "--expire-days=0 is out of range: allowed 1..3650"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--expire-days", "3651"}, "--expire-days=3651 is out of range: allowed 1..3650"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--expire-days", "abc"}, `invalid argument "abc" for "--expire-days"`},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--lookback-days", "-1"}, "--lookback-days=-1 is out of range: allowed 0..365"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--batch-size", "501"}, "--batch-size=501 is out of range: allowed 1..500"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--tag-concurrency", "0"}, "--tag-concurrency=0 is out of range: allowed 1..200"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--no-such-flag"}, "unknown flag: --no-such-flag (see 'starter schedule create --help')"},
		// update: only the flags given change, and they are checked the same way.
		{[]string{"schedule", "update", "nightly"}, "nothing to update: give at least one flag to change, e.g. --expire-days 14 (see 'starter schedule update --help')"},
		{[]string{"schedule", "update", "nightly", "--json"}, "nothing to update"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h/1h"}, "--interval=1h/1h: the offset is out of range: allowed 0s up to the interval"},
		{[]string{"schedule", "create", "nightly", "--interval", "1h/x"}, `invalid argument "1h/x" for "--interval" flag: not a duration`},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--start-time", "tomorrow"}, `invalid argument "tomorrow" for "--start-time" flag: not a time: use RFC 3339, e.g. 2026-12-01T02:00:00Z`},
		{[]string{"schedule", "create", "nightly", "--interval", "1h", "--start-time", "2026-12-02T00:00:00Z", "--end-time", "2026-12-01T00:00:00Z"}, "--end-time=2026-12-01T00:00:00Z is not after --start-time=2026-12-02T00:00:00Z"},
		// backfill: a period, in order.
		{[]string{"schedule", "backfill", "nightly"}, "--start-time and --end-time are required: the period to backfill, in RFC 3339"},
		{[]string{"schedule", "backfill", "nightly", "--start-time", "2026-11-20T00:00:00Z"}, "--start-time and --end-time are required"},
		{[]string{"schedule", "backfill", "nightly", "--start-time", "2026-11-21T00:00:00Z", "--end-time", "2026-11-20T00:00:00Z"}, "--end-time=2026-11-20T00:00:00Z is not after --start-time=2026-11-21T00:00:00Z"},
		{[]string{"schedule", "backfill", "--start-time", "2026-11-20T00:00:00Z"}, "starter schedule backfill needs exactly one schedule ID"},
		{[]string{"schedule", "backfill", "nightly", "--overlap-policy", "x"}, `invalid argument "x" for "--overlap-policy" flag`},
		{[]string{"schedule", "update", "--expire-days", "14"}, "starter schedule update needs exactly one schedule ID: accepts 1 arg(s), received 0"},
		{[]string{"schedule", "update", "nightly", "--cron", "0 3 * * *", "--interval", "2h"}, "--cron and --interval cannot be combined: give exactly one"},
		{[]string{"schedule", "update", "nightly", "--interval", "10s"}, "--interval=10s is out of range: allowed 1m or more"},
		{[]string{"schedule", "update", "nightly", "--cron", "@every 1h"}, `--cron "@every 1h": use --interval for intervals`},
		{[]string{"schedule", "update", "nightly", "--time-zone", "Nowhere/City"}, `--time-zone "Nowhere/City" is not a known time zone`},
		{[]string{"schedule", "update", "nightly", "--jitter", "-2m"}, "--jitter=-2m is out of range: allowed 0s or more"},
		{[]string{"schedule", "update", "nightly", "--catchup-window", "9s"}, "--catchup-window=9s is out of range: allowed 10s or more"},
		{[]string{"schedule", "update", "nightly", "--overlap-policy", "never"}, `invalid argument "never" for "--overlap-policy" flag: allowed skip, buffer-one`},
		{[]string{"schedule", "update", "nightly", "--expire-days", "0"}, "--expire-days=0 is out of range: allowed 1..3650"},
		{[]string{"schedule", "update", "nightly", "--tags-per-activity", "101"}, "--tags-per-activity=101 is out of range: allowed 1..100"},
		// The other subcommands: one ID, no stray flags.
		{[]string{"schedule", "describe"}, "starter schedule describe needs exactly one schedule ID: accepts 1 arg(s), received 0"},
		{[]string{"schedule", "describe", "a", "b"}, "starter schedule describe needs exactly one schedule ID: accepts 1 arg(s), received 2"},
		{[]string{"schedule", "pause"}, "starter schedule pause needs exactly one schedule ID: accepts 1 arg(s), received 0"},
		{[]string{"schedule", "unpause", "a", "b"}, "starter schedule unpause needs exactly one schedule ID: accepts 1 arg(s), received 2"},
		{[]string{"schedule", "trigger"}, "starter schedule trigger needs exactly one schedule ID: accepts 1 arg(s), received 0"},
		{[]string{"schedule", "trigger", "nightly", "--overlap-policy", "allow-all"}, "unknown flag: --overlap-policy (see 'starter schedule trigger --help')"},
		{[]string{"schedule", "delete"}, "starter schedule delete needs exactly one schedule ID: accepts 1 arg(s), received 0"},
		{[]string{"schedule", "delete", "nightly", "--force"}, "unknown flag: --force (see 'starter schedule delete --help')"},
		{[]string{"schedule", "list", "extra"}, `unknown command "extra" for "starter schedule list"`},
		{[]string{"schedule", "frobnicate"}, `unknown command "frobnicate" for "starter schedule"`},
	} {
		code, out, errOut := run(t, c.args...)
		assert.Equal(t, cli.ExitBadInput, code, "%q: %s", c.args, errOut)
		assert.Contains(t, errOut, "error: "+c.want, "%q", c.args)
		assert.Empty(t, out, "%q: nothing on stdout", c.args)
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "%q: one line: %q", c.args, errOut)
	}
}

// Good input gets as far as dialing Temporal: exit 1 naming the address, so
// the validation above is not refusing everything.
func TestScheduleGoodInputDialsTemporal(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, args := range [][]string{
		{"schedule", "create", "nightly", "--cron", "0 2 * * *", "--time-zone", "Asia/Shanghai", "--expire-days", "30"},
		{"schedule", "create", "hourly.v2_a-b", "--interval", "1h", "--jitter", "5m", "--catchup-window", "10s", "--overlap-policy", "BufferOne"},
		{"schedule", "create", strings.Repeat("a", 200), "--interval", "1m", "--overlap-policy", "terminate-other", "--paused", "--notes", "n"},
		{"schedule", "update", "nightly", "--expire-days", "14"},
		{"schedule", "update", "nightly", "--paused=false"},
		{"schedule", "list"},
		{"schedule", "describe", "nightly"},
		{"schedule", "pause", "nightly", "--notes", "maintenance"},
		{"schedule", "unpause", "nightly"},
		{"schedule", "trigger", "nightly"},
		{"schedule", "delete", "nightly"},
		{"schedule", "backfill", "nightly", "--start-time", "2026-11-20T00:00:00Z", "--end-time", "2026-11-21T00:00:00+08:00", "--overlap-policy", "BufferAll"},
		{"schedule", "create", "q", "--interval", "60m/15m", "--start-time", "2026-12-01T00:00:00Z", "--end-time", "2027-12-01T00:00:00Z"},
		// The starter's earlier names are hidden aliases.
		{"schedule", "create", "old", "--every", "1h", "--timezone", "Asia/Shanghai", "--overlap", "skip", "--note", "n"},
		{"schedule", "update", "old", "--every", "2h"},
		{"schedule", "pause", "old", "--note", "n"},
		{"schedule", "pause", "old", "--reason", "n"},
	} {
		code, out, errOut := run(t, args...)
		assert.Equal(t, cli.ExitFailure, code, "%q: %s", args, errOut)
		assert.Contains(t, errOut, "error: cannot connect to Temporal at 127.0.0.1:1: no answer: check TEMPORAL_ADDRESS", "%q", args)
		assert.Empty(t, out, "%q", args)
	}
}

func TestScheduleHelpShowsExamples(t *testing.T) {
	for _, c := range []struct {
		sub  string
		want []string
	}{
		{"create", []string{`starter schedule create nightly --cron "0 2 * * *" --time-zone Asia/Shanghai --expire-days 30`, "--interval duration[/offset]", "--overlap-policy policy", "(default skip)", "--expire-days int"}},
		{"update", []string{"starter schedule update nightly --expire-days 14", "--cron string"}},
		{"list", []string{"starter schedule list -o json"}},
		{"describe", []string{"starter schedule describe nightly"}},
		{"pause", []string{`starter schedule pause nightly --notes`}},
		{"unpause", []string{"starter schedule unpause nightly"}},
		{"trigger", []string{"starter schedule trigger nightly"}},
		{"delete", []string{"starter schedule delete nightly"}},
		{"backfill", []string{"starter schedule backfill nightly --start-time 2026-11-20T00:00:00Z", "--overlap-policy policy"}},
	} {
		code, out, _ := run(t, "schedule", c.sub, "--help")
		assert.Equal(t, cli.ExitOK, code, c.sub)
		for _, w := range c.want {
			assert.Contains(t, out, w, c.sub)
		}
	}
	// update's flags keep the schedule's values: no misleading defaults.
	_, out, _ := run(t, "schedule", "update", "--help")
	assert.NotContains(t, out, "(default 30)")
	assert.NotContains(t, out, "(default skip)")

	code, out, _ := run(t, "schedule")
	assert.Equal(t, cli.ExitOK, code)
	for _, sub := range []string{"create", "list", "describe", "update", "pause", "unpause", "trigger", "backfill", "delete"} {
		assert.Contains(t, out, "\n  "+sub+" ", "schedule help lists %s", sub)
	}
}
