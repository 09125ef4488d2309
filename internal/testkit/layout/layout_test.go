// Package layout holds the tests of the tree's tiers (README, Layout).
package layout

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const harness = "expiry-sync/internal/testkit"

// The product's binaries link no harness package: the simulator, the
// benchmark and the test environments never ship.
func TestProductBinariesLinkNoHarness(t *testing.T) {
	for _, bin := range []string{"expiry-sync/worker", "expiry-sync/starter", "expiry-sync/cmd/codec-server"} {
		out, err := exec.Command("go", "list", "-deps", bin).CombinedOutput()
		require.NoError(t, err, string(out))
		for _, dep := range strings.Fields(string(out)) {
			require.False(t, strings.HasPrefix(dep, harness), "%s links %s", bin, dep)
		}
	}
}

// Only the harness and its thin binaries import the harness: a product
// package that needs a test helper takes it in its _test files.
func TestOnlyTheHarnessImportsTheHarness(t *testing.T) {
	for pkg, imports := range productImports(t) {
		for _, imp := range imports {
			require.False(t, strings.HasPrefix(imp, harness), "%s imports %s", pkg, imp)
		}
	}
}

// productImports are the imports of each product package (the harness and
// its binaries left out).
func productImports(t *testing.T) map[string][]string {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "expiry-sync/...").CombinedOutput()
	require.NoError(t, err, string(out))
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if strings.HasPrefix(pkg, harness) || pkg == "expiry-sync/cmd/hwsim" || pkg == "expiry-sync/cmd/bench" {
			continue
		}
		imports[pkg] = fields[1:]
	}
	return imports
}

// tiers are the product's packages from the top (README, Layout): a
// package imports its own tier or those below, never one above.
var tiers = [][]string{
	{"worker", "starter", "cmd/codec-server", "cmd/gendocs"},
	{"internal/workerapp", "internal/cli", "internal/doctor", "internal/temporalclient"},
	{"workflows"},
	{"activities"},
	{"internal/huawei", "internal/store", "internal/notify", "internal/report", "internal/metrics"},
	{"internal/contract", "internal/inventory", "internal/catalog", "internal/config", "internal/codec", "internal/printer",
		"internal/clip", "internal/yamlkeys", "internal/version"},
}

func tierOf(pkg string) int {
	for i, tier := range tiers {
		for _, p := range tier {
			if "expiry-sync/"+p == pkg {
				return i
			}
		}
	}
	return -1
}

// Every product package has a tier, and no import runs up the tiers.
func TestImportsRunDownTheTiers(t *testing.T) {
	for pkg, imports := range productImports(t) {
		from := tierOf(pkg)
		require.GreaterOrEqual(t, from, 0, "%s has no tier: add it to tiers and to the README's Layout", pkg)
		for _, imp := range imports {
			if to := tierOf(imp); strings.HasPrefix(imp, "expiry-sync/") {
				require.GreaterOrEqual(t, to, from, "%s (tier %d) imports %s (tier %d), a tier above", pkg, from, imp, to)
			}
		}
	}
}
