package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/catalog"
	"expiry-sync/internal/report"
	"expiry-sync/internal/store"
	"expiry-sync/internal/testkit/reporttest"
	"expiry-sync/internal/testkit/testenv"
)

// These tests are in package cli to pin the report's clock.

func runReport(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), append([]string{"report"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// fillReportDB writes the shared report fixture into a new SQLite database
// that DATABASE_URL then names, and pins the report's clock to its "now".
func fillReportDB(t *testing.T) {
	t.Helper()
	clock = func() time.Time { return reporttest.Now }
	t.Cleanup(func() { clock = time.Now })
	url := testenv.SQLiteURL(t)
	reporttest.Open(t, url)
	t.Setenv("DATABASE_URL", url)
}

func TestReportBadInputExitsTwoBeforeTouchingTheDatabase(t *testing.T) {
	// Were the database touched, the command would exit 1.
	t.Setenv("DATABASE_URL", "mysql://root:hunter2@127.0.0.1:1/nothing")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--expire-days is required: allowed 1..3650 (days from now)"},
		{[]string{"--format", "json"}, "--expire-days is required: allowed 1..3650 (days from now)"},
		{[]string{"--expire-days", "0"}, "--expire-days=0 is out of range: allowed 1..3650"},
		{[]string{"--expire-days", "-1"}, "--expire-days=-1 is out of range: allowed 1..3650"},
		{[]string{"--expire-days=3651"}, "--expire-days=3651 is out of range: allowed 1..3650"},
		{[]string{"--expire-days", "99999999999999999999"}, "--expire-days=99999999999999999999 is out of range: allowed 1..3650"},
		{[]string{"--expire-days", "abc"}, "--expire-days=abc is not a whole number: allowed 1..3650"},
		{[]string{"--expire-days", "7.5"}, "--expire-days=7.5 is not a whole number: allowed 1..3650"},
		{[]string{"--expire-days", ""}, `--expire-days="" is not a whole number: allowed 1..3650`},
		{[]string{"--expire-days", "'; DROP TABLE x;--"}, `--expire-days="'; DROP TABLE x;--" is not a whole number: allowed 1..3650`},
		{[]string{"--expire-days", "7\nerror: injected"}, `--expire-days="7\nerror: injected" is not a whole number: allowed 1..3650`},
		{[]string{"--expire-days", "7", "--format", "xml"}, `invalid argument "xml" for "-o, --output" flag: allowed text, json, jsonl, csv (see 'starter report --help')`},
		{[]string{"--expire-days", "7", "-o", ""}, `invalid argument "" for "-o, --output" flag: allowed text, json, jsonl, csv (see 'starter report --help')`},
		{[]string{"--expire-days", "7", "--json", "-o", "csv"}, "--json and --output csv contradict each other: give one"},
		{[]string{"--within-days", "0"}, "--expire-days=0 is out of range: allowed 1..3650"},
		{[]string{"--expire-days", "7", "--sort", "size"}, "--sort=size is not allowed: allowed expire, name, service, region, project, account"},
		{[]string{"--expire-days", "7", "--sort", "expire_time; DROP TABLE expiring_resources"}, `--sort="expire_time; DROP TABLE expiring_resources" is not allowed: allowed expire, name, service, region, project, account`},
		{[]string{"--expire-days", "7", "--limit", "0"}, "--limit=0 is out of range: allowed 1..100000"},
		{[]string{"--expire-days", "7", "--limit", "100001"}, "--limit=100001 is out of range: allowed 1..100000"},
		{[]string{"--expire-days", "7", "--limit", "all"}, "--limit=all is not a whole number: allowed 1..100000"},
		{[]string{"--expire-days", "7", "--service", "s3"}, "--service=s3 is not allowed: allowed ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2"},
		{[]string{"--expire-days", "7", "--service", "hws.service.type."}, "--service=hws.service.type. is not allowed: allowed ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2"},
		{[]string{"--expire-days", "7", "--service", "hws.service.type.ec2' OR '1'='1"}, `--service="hws.service.type.ec2' OR '1'='1" is not allowed: allowed ecs (or ec2), evs (or ebs), vpc, rds, dcs, or a full code such as hws.service.type.ec2`},
		{[]string{"--expire-days", "7", "--tag", "env"}, "--tag=env has no '=': allowed key=value, or key= for an empty value"},
		{[]string{"--expire-days", "7", "--tag", "env=prod", "--tag", "负责人"}, "--tag=负责人 has no '=': allowed key=value, or key= for an empty value"},
		{[]string{"--expire-days", "7", "--tag", "=prod"}, "--tag==prod has an empty key: allowed key=value, or key= for an empty value"},
		{[]string{"--expire-days", "7", "--tag", ""}, `--tag="" has no '=': allowed key=value, or key= for an empty value`},
		{[]string{"--expire-days", "7", "extra"}, `unknown command "extra" for "starter report"`},
		{[]string{"--expire-days", "7", "--no-such-flag"}, "unknown flag: --no-such-flag (see 'starter report --help')"},
	} {
		code, out, errOut := runReport(t, c.args...)
		assert.Equal(t, ExitBadInput, code, "%q", c.args)
		assert.Equal(t, "error: "+c.want+"\n", errOut, "%q", c.args)
		assert.Empty(t, out, "%q: nothing on stdout", c.args)
	}
}

func TestReportBadDatabaseURLIsBadInput(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u:hunter2@h/db")
	code, out, errOut := runReport(t, "--expire-days", "7")
	assert.Equal(t, ExitBadInput, code)
	assert.Empty(t, out)
	assert.Equal(t, `error: DATABASE_URL=postgres://u:xxxxx@h/db has scheme "postgres": allowed mysql://user:pass@host:3306/db or sqlite:///path/file.db`+"\n", errOut)
}

func TestReportUnreachableDatabaseExitsOne(t *testing.T) {
	t.Setenv("DATABASE_URL", "mysql://root:hunter2@127.0.0.1:1/inventory")
	code, out, errOut := runReport(t, "--expire-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errOut, "error: database mysql://root:xxxxx@127.0.0.1:1/inventory"), errOut)
	assert.Contains(t, errOut, "connection refused")
	assert.NotContains(t, errOut, "hunter2")
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
}

func TestReportWithoutTablesExitsOneAndCreatesNothing(t *testing.T) {
	// An SQLite file that does not exist is not created.
	path := filepath.Join(t.TempDir(), "never-synced.db")
	t.Setenv("DATABASE_URL", "sqlite://"+path)
	code, out, errOut := runReport(t, "--expire-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "error: database sqlite://"+path+" has no expiry-sync tables (the file "+path+
		" does not exist): start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "the report created the database file")

	// A database that exists but was never migrated.
	url := testenv.SQLiteURL(t)
	s, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	t.Setenv("DATABASE_URL", url)
	code, out, errOut = runReport(t, "--expire-days", "7", "--format", "json")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "error: database "+url+" has no expiry-sync tables: start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)

	// Unset: the worker's default file in the working directory.
	t.Chdir(t.TempDir())
	t.Setenv("DATABASE_URL", "")
	code, _, errOut = runReport(t, "--expire-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Equal(t, "error: database sqlite://expiry-sync.db (DATABASE_URL is unset) has no expiry-sync tables (the file expiry-sync.db does not exist): "+
		"start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)
	_, err = os.Stat("expiry-sync.db")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestReportMissingTablesOnMySQLExitsOne(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB; -short is make unit")
	}
	url := testenv.MySQLURL(t)
	t.Setenv("DATABASE_URL", url)
	code, out, errOut := runReport(t, "--expire-days", "7")
	assert.Equal(t, ExitFailure, code)
	assert.Empty(t, out)
	assert.Equal(t, "error: database "+url+" has no expiry-sync tables: start the worker once with this DATABASE_URL to create them, then run a sync\n", errOut)
}

// reportIDs runs the report as JSON, decoded into the production type,
// and returns the resource ids in order.
func reportIDs(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := runReport(t, append([]string{"-o", "json"}, args...)...)
	require.Equal(t, ExitOK, code, "%q: %s", args, errOut)
	var items []report.Item
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&items))
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ResourceID)
	}
	return ids
}

// The flags reach the store's filter: each case is checked against the
// fixture (internal/testkit/reporttest) by hand.
func TestReportFiltersAndSorts(t *testing.T) {
	fillReportDB(t)
	week := []string{"expired-active", "soon-1", "soon-2", "unknown-tags", "empty-val", "no-tags", "edge"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--expire-days", "1"}, []string{"expired-active", "soon-1"}},
		{[]string{"--expire-days", "2"}, []string{"expired-active", "soon-1", "soon-2"}},
		{[]string{"--expire-days", "7"}, week},
		{[]string{"--expire-days", "8"}, append(slices.Clone(week), "later")},
		{[]string{"--expire-days", "7"}, week}, // the hidden alias
		{[]string{"--expire-days", "7", "--include-inactive"}, []string{"expired-active", "soon-1", "soon-2", "inactive", "unknown-tags", "empty-val", "no-tags", "edge"}},
		{[]string{"--expire-days", "7", "--service", "ecs"}, []string{"expired-active", "soon-2"}},
		{[]string{"--expire-days", "7", "--service", "EC2", "--include-inactive"}, []string{"expired-active", "soon-2", "inactive"}},
		{[]string{"--expire-days", "7", "--service", catalog.ServiceECS}, []string{"expired-active", "soon-2"}},
		{[]string{"--expire-days", "7", "--service", "evs"}, []string{"soon-1"}},
		{[]string{"--expire-days", "7", "--service", "ebs"}, []string{"soon-1"}},
		{[]string{"--expire-days", "7", "--service", "vpc"}, []string{"no-tags", "edge"}},
		{[]string{"--expire-days", "7", "--service", "rds"}, []string{"empty-val"}},
		{[]string{"--expire-days", "7", "--service", "dcs"}, []string{"unknown-tags"}},
		{[]string{"--expire-days", "7", "--service", "hws.service.type.obs"}, []string{}},
		{[]string{"--expire-days", "7", "--region", "cn-east-3"}, []string{"soon-1", "no-tags"}},
		{[]string{"--expire-days", "7", "--region", "cn-%"}, []string{}},
		{[]string{"--expire-days", "7", "--project", "p3", "--region", "cn-south-1"}, []string{"unknown-tags"}},
		{[]string{"--expire-days", "7", "--tag", "env=prod"}, []string{"expired-active", "soon-1"}},
		{[]string{"--expire-days", "7", "--tag", "env=prod", "--include-inactive"}, []string{"expired-active", "soon-1", "inactive"}},
		{[]string{"--expire-days", "7", "--tag", "env=prod", "--tag", "团队=运维部 🚀"}, []string{"soon-1"}},
		{[]string{"--expire-days", "7", "--tag", `quote"key=say "hi"`}, []string{"soon-1"}},
		{[]string{"--expire-days", "7", "--tag", "env="}, []string{"empty-val"}},
		{[]string{"--expire-days", "7", "--tag", `back\slash=C:\path\%d`}, []string{"edge"}},
		{[]string{"--expire-days", "7", "--tag", `back\slash=C:\path%`}, []string{}},
		{[]string{"--expire-days", "7", "--tag", "a='; DROP TABLE expiring_resources; --"}, []string{"edge"}},
		{[]string{"--expire-days", "7", "--tag", "lines=one\ntwo"}, []string{"empty-val"}},
		{[]string{"--expire-days", "7", "--tag", "env=prod,团队=运维部 🚀"}, []string{}},
		{[]string{"--expire-days", "7", "--sort", "name"}, []string{"soon-2", "unknown-tags", "empty-val", "expired-active", "edge", "soon-1", "no-tags"}},
		{[]string{"--expire-days", "7", "--sort", "service"}, []string{"unknown-tags", "soon-1", "expired-active", "soon-2", "empty-val", "no-tags", "edge"}},
		{[]string{"--expire-days", "7", "--sort", "REGION"}, []string{"soon-1", "no-tags", "expired-active", "soon-2", "empty-val", "edge", "unknown-tags"}},
		{[]string{"--expire-days", "7", "--sort", "project"}, []string{"expired-active", "soon-2", "empty-val", "edge", "soon-1", "no-tags", "unknown-tags"}},
		{[]string{"--expire-days", "7", "--sort", "expire", "--limit", "100000"}, week},
	} {
		assert.Equal(t, c.want, reportIDs(t, c.args...), "%q", c.args)
	}
}

// The report's earlier --format takes table, csv and json, as -o does.
func TestReportFormatAliases(t *testing.T) {
	fillReportDB(t)
	for _, c := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--format", "table"}, "┌"},
		{[]string{"--format", "csv"}, "expire_time,days_left,"},
		{[]string{"--format", "json"}, "[\n  {"},
		{[]string{"--json"}, "[\n  {"},
		{[]string{"-o", "jsonl"}, `{"expire_time":`},
		{[]string{"--output=CSV"}, "expire_time,days_left,"},
	} {
		code, out, errOut := runReport(t, append([]string{"--expire-days", "7"}, c.args...)...)
		require.Equal(t, ExitOK, code, "%q: %s", c.args, errOut)
		assert.True(t, strings.HasPrefix(out, c.prefix), "%q: %q", c.args, out)
	}
	code, out, _ := runReport(t, "--expire-days", "7", "-o", "jsonl")
	require.Equal(t, ExitOK, code)
	assert.Equal(t, 7, strings.Count(out, "\n"), "one line a resource")
}

func TestReportLimitNoteGoesToStderr(t *testing.T) {
	fillReportDB(t)
	code, out, errOut := runReport(t, "--expire-days", "7", "--limit", "2", "-o", "csv")
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, 3, strings.Count(out, "\n"), "a header and two rows: %q", out)
	assert.Equal(t, "note: more than 2 resources match; only the first 2 are shown (raise --limit, up to 100000)\n", errOut)

	code, _, errOut = runReport(t, "--expire-days", "7", "--limit", "7")
	require.Equal(t, ExitOK, code)
	assert.Empty(t, errOut, "exactly the limit: nothing was cut")
}

func TestReportNeedsNoTemporalSettings(t *testing.T) {
	fillReportDB(t)
	t.Setenv("TEMPORAL_NAMESPACE", " ")
	t.Setenv("TEMPORAL_ADDRESS", "")
	code, _, errOut := runReport(t, "--expire-days", "7")
	assert.Equal(t, ExitOK, code, errOut)
}

func TestReportHelpShowsExamples(t *testing.T) {
	code, out, _ := runReport(t, "--help")
	assert.Equal(t, ExitOK, code)
	for _, want := range []string{
		"starter report --expire-days 7\n",
		"--service ecs --project 0a1b2c3d4e5f40718293a4b5c6d7e8f9 --tag env=prod",
		"-o csv > expiring.csv",
		"--tag owner= --include-inactive --sort name",
		"--expire-days int", "--limit int", "(default 1000)", "--tag stringArray", "-o, --output format",
	} {
		assert.Contains(t, out, want)
	}
}
