package cli

//go:generate go run ../../cmd/gendocs ../../docs/cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"expiry-sync/internal/printer"
)

// outputAnnotation holds, on a command, the Markdown that documents its
// JSON output (see describeOutput).
const outputAnnotation = "expiry-sync/output"

// describeOutput records the JSON fields of what cmd prints, for the
// generated reference; label says when (e.g. "with --wait") if it prints
// more than one kind of result.
func describeOutput(cmd *cobra.Command, r printer.Result, label ...string) {
	var b strings.Builder
	if len(label) > 0 {
		fmt.Fprintf(&b, "%s:\n\n", label[0])
	}
	b.WriteString("| field | type | meaning |\n|---|---|---|\n")
	for _, f := range printer.Fields(r) {
		typ := f.Type
		if f.Optional {
			typ += ", optional"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Path, typ, strings.ReplaceAll(f.Doc, "|", `\|`))
	}
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	if prev := cmd.Annotations[outputAnnotation]; prev != "" {
		b.WriteString("\n")
		cmd.Annotations[outputAnnotation] = prev + "\n" + b.String()
		return
	}
	cmd.Annotations[outputAnnotation] = b.String()
}

// GenerateReference writes the CLI reference into dir: one Markdown page a
// command, as cobra/doc renders its help, plus the JSON fields of its
// output. Pages are stable (no generation date) so a test can compare them.
func GenerateReference(dir string) error {
	root := Command()
	root.DisableAutoGenTag = true
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writePages(root, dir)
}

func writePages(cmd *cobra.Command, dir string) error {
	for _, c := range cmd.Commands() {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := writePages(c, dir); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	cmd.DisableAutoGenTag = true
	if err := doc.GenMarkdownCustom(cmd, &b, func(name string) string { return name }); err != nil {
		return err
	}
	page := b.String()
	if out := cmd.Annotations[outputAnnotation]; out != "" {
		section := "### Output\n\nThe JSON names of `-o json`, `jsonl` and `csv` (one column per top-level field; " +
			"nested values as JSON; text starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed " +
			"with `'`, so that a spreadsheet shows it rather than runs it). They are stable: " +
			"a change is a change of this page.\n\n" + out + "\n"
		// Before "SEE ALSO", which closes every page.
		if i := strings.Index(page, "### SEE ALSO"); i >= 0 {
			page = page[:i] + section + page[i:]
		} else {
			page += "\n" + section
		}
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "_") + ".md"
	return os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644)
}
