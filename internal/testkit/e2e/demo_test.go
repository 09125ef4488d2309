package e2e

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func freePort(t *testing.T) string {
	p, err := freeTCPPort()
	require.NoError(t, err)
	return p
}

// TestDemoCommand runs the README's first command as a user would, on free
// ports, and checks that the sync it starts succeeds.
func TestDemoCommand(t *testing.T) {
	cmd := exec.Command("make", "-s", "demo")
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(),
		"DEMO_EXIT=1", "DEMO_DIR="+t.TempDir(), "DEMO_RESOURCES=4000",
		"DEMO_TEMPORAL_PORT="+freePort(t), "DEMO_UI_PORT="+freePort(t), "DEMO_HWSIM_PORT="+freePort(t),
		"DATABASE_URL=", // the embedded default: SQLite
	)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `(?m)^Status\s+success$`, string(out))
	assert.Regexp(t, `(?m)^Web UI: http://localhost:\d+/namespaces/default/workflows/expiry-sync-`, string(out))
	assert.Contains(t, string(out), "Where to look in the Temporal Web UI")
}
