// Command gendocs writes the starter's CLI reference (docs/cli) from its
// cobra commands: `make docs`, or `go generate ./internal/cli`. A test in
// internal/testkit/docs fails when the committed pages differ from what it writes.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"expiry-sync/internal/cli"
)

func main() {
	dir := "docs/cli"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	// Pages of commands that no longer exist must go too.
	old, _ := filepath.Glob(filepath.Join(dir, "starter*.md"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	if err := cli.GenerateReference(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
