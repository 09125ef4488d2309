package workflows_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Workflow code stays pure: no store, ORM, SQL driver, Huawei SDK or
// activity implementation reaches it, even indirectly, so nothing in it can
// do I/O or change under a replay. The contract package carries what it
// shares with the activities.
func TestWorkflowsImportNoIO(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "expiry-sync/workflows").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"expiry-sync/activities", "expiry-sync/internal/store", "expiry-sync/internal/huawei", "expiry-sync/internal/catalog",
			"expiry-sync/internal/notify", "gorm.io/", "github.com/go-sql-driver/", "github.com/glebarez/", "modernc.org/sqlite",
			"github.com/huaweicloud/", "database/sql",
		} {
			// Interface types only, via the SDK's uuid package (and, since Go
			// 1.27, the internal package those interfaces use).
			if dep == "database/sql/driver" || dep == "database/sql/internal" {
				continue
			}
			require.False(t, strings.HasPrefix(dep, banned), "workflows depends on %s", dep)
		}
	}
}
