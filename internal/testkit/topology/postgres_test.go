package topology

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"expiry-sync/internal/testkit/testenv"
)

// pg is the machine's PostgreSQL (127.0.0.1:5432, trust authentication),
// standing in for the compose file's postgresql service.
type pg struct {
	t   *testing.T
	tag string
}

func postgres(t *testing.T) *pg {
	p := &pg{t: t, tag: fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)}
	if _, err := p.psql("SELECT 1"); err != nil {
		msg := "PostgreSQL at 127.0.0.1:5432 is not reachable with psql: %v"
		if testenv.RequireAll() {
			t.Fatalf(msg, err)
		}
		t.Skipf(msg, err)
	}
	return p
}

func (p *pg) psql(sql string) (string, error) {
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", "postgres",
		"-v", "ON_ERROR_STOP=1", "-Atc", sql).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, out)
	}
	return string(out), nil
}

// createRole gives the compose file's user what the schema job needs:
// login and creating databases, not superuser.
func (p *pg) createRole(name string) {
	_, err := p.psql(fmt.Sprintf(`DO $$ BEGIN CREATE ROLE %q LOGIN CREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END $$`, name))
	if err != nil {
		p.t.Fatal(err)
	}
}

// db names a database of this test, dropped at its end.
func (p *pg) db(base string) string {
	name := base + "_topology_" + p.tag
	p.t.Cleanup(func() {
		if _, err := p.psql(fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", name)); err != nil {
			p.t.Logf("drop %s: %v", name, err)
		}
	})
	return name
}
