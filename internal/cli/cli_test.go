package cli_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/cli"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadInputExitsTwoNamingTheValue(t *testing.T) {
	// Nothing listens on port 1: a bad flag must be refused before any dial.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--expire-days", "0"}, "--expire-days=0 is out of range: allowed 1..3650"},
		{[]string{"sync", "--expire-days", "-3"}, "--expire-days=-3 is out of range: allowed 1..3650"},
		{[]string{"sync", "--expire-days", "99999999"}, "--expire-days=99999999 is out of range: allowed 1..3650"},
		{[]string{"sync", "--expire-days", "abc"}, `invalid argument "abc" for "--expire-days"`},
		{[]string{"sync", "--expire-days", "'; DROP TABLE x;--"}, `invalid argument "'; DROP TABLE x;--" for "--expire-days"`},
		{[]string{"sync", "--batch-size", "501"}, "--batch-size=501 is out of range: allowed 1..500"},
		{[]string{"sync", "--batch-size", "0"}, "--batch-size=0 is out of range: allowed 1..500"},
		{[]string{"sync", "--tag-concurrency", "0"}, "--tag-concurrency=0 is out of range: allowed 1..200"},
		{[]string{"sync", "--tags-per-activity", "101"}, "--tags-per-activity=101 is out of range: allowed 1..100"},
		{[]string{"sync", "--page-size", "501"}, "--page-size=501 is out of range: allowed 2..500"},
		{[]string{"sync", "--lookback-days", "-1"}, "--lookback-days=-1 is out of range: allowed 0..365"},
		{[]string{"sync", "--tag-mode", "fast"}, `--tag-mode="fast" is not allowed: use one of per-resource, bulk, auto`},
		{[]string{"sync", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"sync", "extra-arg"}, `unknown command "extra-arg" for "starter sync"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "starter"`},
		{[]string{"sync", "--expire-days", ""}, `invalid argument "" for "--expire-days"`},
		{[]string{"sync", "--tag-mode", ""}, `--tag-mode="" is not allowed: use one of per-resource, bulk, auto`},
		{[]string{"sync", "--tag-mode", "bulk'; DROP TABLE expiring_resources;--"}, `--tag-mode="bulk'; DROP TABLE expiring_resources;--" is not allowed`},
		{[]string{"sync", "--tag-mode", "\xff\xfe"}, `--tag-mode="\xff\xfe" is not allowed`},
		{[]string{"sync", "--resume", "\xffbad"}, `sync id "\xffbad" is not valid`},
		{[]string{"sync", "--resume", "a b"}, `sync id "a b" is not valid`},
		{[]string{"status", "\xff"}, `sync id "\xff" is not valid`},
		{[]string{"status", ""}, `sync id "" is not valid`},
		{[]string{"cancel", strings.Repeat("x", 256)}, `is not valid: allowed 1..255 bytes`},
		{[]string{"resume", "x\ny"}, `sync id "x\ny" is not valid`},
		{[]string{"status"}, `status needs a SYNC_ID or at least one --account`},
		{[]string{"status", "a", "b"}, `accepts at most 1 arg(s), received 2`},
		{[]string{"status", "--account", "prod west"}, `--account="prod west" is not an account name: allowed 1..64 of A-Z a-z 0-9 . _ -`},
		{[]string{"sync", "--account", "prod'"}, `--account=prod' is not an account name`},
		{[]string{"sync", "--account", ""}, `--account="" is not an account name`},
		{[]string{"sync", "--account", "prod", "--all-accounts"}, `--account prod and --all-accounts contradict each other: give one`},
		{[]string{"sync", "--resume", "expiry-sync-prod-1", "--account", "prod"}, `--account cannot be given with --resume: a resumed sync keeps its account`},
		{[]string{"sync", "--resume", "expiry-sync-prod-1", "--all-accounts"}, `--all-accounts cannot be given with --resume`},
		{[]string{"list", "--account", "a", "--account", "-b"}, `--account=-b is not an account name`},
		{[]string{"report", "--expire-days", "7", "--account", "x y"}, `--account="x y" is not an account name`},
		{[]string{"schedule", "create", "n", "--interval", "1h", "--all-accounts", "--account", "p"}, `--account p and --all-accounts contradict each other`},
		{[]string{"schedule", "update", "n", "--account", "p"}, `unknown flag: --account`},
		{[]string{"list", "--limit", "0"}, `--limit=0 is out of range: allowed 1..1000`},
		{[]string{"list", "--limit", "-1"}, `--limit=-1 is out of range: allowed 1..1000`},
		{[]string{"list", "--status", "'; DROP TABLE x"}, `--status "'; DROP TABLE x" is not allowed`},
	} {
		code, out, errOut := run(t, c.args...)
		assert.Equal(t, cli.ExitBadInput, code, "%v", c.args)
		assert.Contains(t, errOut, c.want, "%v", c.args)
		assert.Empty(t, out, "%v: nothing on stdout", c.args)
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "%v: one line: %q", c.args, errOut)
	}
}

func TestBadEnvironmentExitsTwo(t *testing.T) {
	t.Setenv("TEMPORAL_NAMESPACE", " ")
	code, _, errOut := run(t, "sync", "--expire-days", "7")
	assert.Equal(t, cli.ExitBadInput, code)
	assert.Contains(t, errOut, "TEMPORAL_NAMESPACE is empty")
}

func TestUnreachableTemporalExitsOneNamingTheAddress(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	code, _, errOut := run(t, "sync", "--expire-days", "7")
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, errOut, "cannot connect to Temporal at 127.0.0.1:1: no answer: check TEMPORAL_ADDRESS")
}

func TestHelpShowsExamples(t *testing.T) {
	code, out, _ := run(t, "sync", "--help")
	assert.Equal(t, cli.ExitOK, code)
	assert.Contains(t, out, "starter sync --expire-days 30 --wait")
	assert.Contains(t, out, "--resume")
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "--version")
	assert.Equal(t, cli.ExitOK, code)
	assert.Equal(t, "starter version dev\n", out)
}

func TestOutputFormatIsChecked(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	code, out, errOut := run(t, "list", "-o", "yaml")
	assert.Equal(t, cli.ExitBadInput, code)
	assert.Empty(t, out)
	assert.Equal(t, `error: invalid argument "yaml" for "-o, --output" flag: allowed text, json, jsonl, csv (see 'starter list --help')`+"\n", errOut)
	code, _, errOut = run(t, "status", "x", "--json", "-o", "jsonl")
	assert.Equal(t, cli.ExitBadInput, code)
	assert.Contains(t, errOut, "--json and --output jsonl contradict each other: give one")
}

// Shell completion of enumerations needs no service.
func TestCompletesEnumValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "sync", "--tag-mode", ""}, []string{"per-resource", "bulk", "auto"}},
		{[]string{"__complete", "list", "--status", ""}, []string{"running", "completed", "failed", "canceled", "terminated", "timed-out", "success", "partial"}},
		{[]string{"__complete", "list", "-o", ""}, []string{"text", "json", "jsonl", "csv"}},
		{[]string{"__complete", "report", "--sort", ""}, []string{"expire", "name", "service", "region", "project", "account"}},
		{[]string{"__complete", "report", "--service", ""}, []string{"ecs", "evs", "vpc", "rds", "dcs"}},
		{[]string{"__complete", "schedule", "create", "x", "--overlap-policy", ""}, []string{"skip", "buffer-one", "buffer-all", "allow-all", "cancel-other", "terminate-other"}},
		{[]string{"__complete", "schedule", "backfill", "x", "--overlap-policy", ""}, []string{"skip", "buffer-one", "buffer-all", "allow-all", "cancel-other", "terminate-other"}},
	} {
		code, out, _ := run(t, c.args...)
		assert.Equal(t, cli.ExitOK, code, "%q", c.args)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		assert.Equal(t, append(c.want, ":4"), lines, "%q", c.args) // 4: no file completion
	}
}

func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, cli.IsTerminal(f))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, cli.IsTerminal(w))
	assert.False(t, cli.IsTerminal(&bytes.Buffer{}))
}
