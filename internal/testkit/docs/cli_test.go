package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/cli"
)

// TestCLIReferenceIsFresh regenerates the CLI reference and compares it
// with docs/cli: a flag, a help text or an output field that changed
// without `make docs` fails here.
func TestCLIReferenceIsFresh(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, cli.GenerateReference(dir))
	want := pages(t, dir)
	got := pages(t, "../../../docs/cli")
	require.NotEmpty(t, want)
	for name, page := range want {
		assert.Equal(t, page, got[name], "docs/cli/%s is stale: run `make docs`", name)
	}
	for name := range got {
		assert.Contains(t, want, name, "docs/cli/%s documents no command: run `make docs`", name)
	}
}

func pages(t *testing.T, dir string) map[string]string {
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// handWritten are the docs people write (docs/cli is generated).
func handWritten(t *testing.T) map[string]string {
	docs := map[string]string{}
	files, err := filepath.Glob("../../../docs/*.md")
	require.NoError(t, err)
	for _, f := range append(files, "../../../README.md") {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[strings.TrimPrefix(f, "../../../")] = string(b)
	}
	return docs
}

var (
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	fence      = regexp.MustCompile("(?ms)^```[a-z]*\n(.*?)^```")
	starterCmd = regexp.MustCompile(`(?:^|[\s$(])starter((?: [a-z][a-z-]*)*)(.*)`)
	longFlag   = regexp.MustCompile(`(?:^|[\s\[(|])--([a-z][a-z0-9-]*)`)
)

// codeLines are the lines of code in a Markdown text: fenced blocks and
// inline spans.
func codeLines(md string) []string {
	var lines []string
	for _, m := range fence.FindAllStringSubmatch(md, -1) {
		lines = append(lines, strings.Split(m[1], "\n")...)
	}
	for _, m := range inlineCode.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		lines = append(lines, m[1])
	}
	return lines
}

// TestDocsNameOnlyRealFlags checks every `starter ...` command the README
// and docs/ show: the subcommand exists, and each --flag is one of its
// flags, under its documented name (not a hidden alias).
func TestDocsNameOnlyRealFlags(t *testing.T) {
	root := cli.Command()
	checked := 0
	for file, md := range handWritten(t) {
		for _, line := range codeLines(md) {
			m := starterCmd.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			words := strings.Fields(m[1])
			cmd, rest, err := root.Find(words)
			require.NoError(t, err, "%s: %q", file, line)
			tail := strings.Join(rest, " ") + m[2]
			// The command ends at a shell operator or a comment.
			if i := strings.IndexAny(tail, "|;>#"); i >= 0 && !strings.Contains(tail[:i], "[") {
				tail = tail[:i]
			}
			for _, f := range longFlag.FindAllStringSubmatch(tail, -1) {
				name := f[1]
				flag := cmd.Flags().Lookup(name)
				if flag == nil {
					flag = cmd.InheritedFlags().Lookup(name)
				}
				if assert.NotNil(t, flag, "%s: %q: `%s` has no flag --%s", file, line, cmd.CommandPath(), name) {
					assert.Equal(t, flag.Name, name, "%s: %q: --%s is a hidden alias of --%s: document --%s", file, line, name, flag.Name, flag.Name)
					assert.False(t, flag.Hidden, "%s: %q: --%s is hidden", file, line, name)
				}
				checked++
			}
		}
	}
	assert.Greater(t, checked, 30, "the docs show commands with flags")
}

// TestReadmeCheatSheetNamesEveryCommand: a command the README does not
// name is a command nobody finds.
func TestReadmeCheatSheetNamesEveryCommand(t *testing.T) {
	readme := handWritten(t)["README.md"]
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			path := sub.CommandPath()
			if parent := sub.Parent(); parent.HasParent() {
				// The cheat sheet groups subcommands: starter schedule create|list|...
				named := regexp.MustCompile(`starter ` + parent.Name() + ` [a-z|\\]*\b` + sub.Name() + `\b`).MatchString(readme)
				assert.True(t, named, "the README's cheat sheet names %s", path)
			} else {
				assert.True(t, strings.Contains(readme, "`"+path), "the README's cheat sheet names %s", path)
			}
			walk(sub)
		}
	}
	walk(cli.Command())
	assert.True(t, strings.Contains(readme, "(docs/cli/starter.md)"), "the README links the CLI reference")
}
