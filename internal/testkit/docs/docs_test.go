package docs

import (
	"context"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/testkit/compose"
)

// envNames lists the variables a configuration struct reads (its env tags).
func envNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			names = append(names, envNames(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" && name != "-" { // "-": not from the environment
			names = append(names, name)
		}
	}
	return names
}

// readmeTable lists the variables of the README's configuration table.
func readmeTable(t *testing.T) []string {
	b, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(b), "## Configuration")
	require.True(t, ok, "README has a Configuration section")
	section, _, _ := strings.Cut(after, "\n## ")
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\|").FindAllStringSubmatch(section, -1) {
		names = append(names, m[1])
	}
	return names
}

func TestReadmeDocumentsEveryVariable(t *testing.T) {
	documented := readmeTable(t)
	code := append(envNames(reflect.TypeFor[config.Worker]()), envNames(reflect.TypeFor[config.Starter]())...)
	slices.Sort(code)
	code = slices.Compact(code)
	require.NotEmpty(t, code)
	slices.Sort(documented)
	assert.Equal(t, code, documented, "README configuration table vs the env tags of config.Worker and config.Starter")
}

// loadCompose reads docker-compose.yml with compose-go, the loader of
// `docker compose`, and .env.example as its .env.
func loadCompose(t *testing.T) *types.Project {
	p, err := compose.Load(context.Background(), "../../..", "../../../.env.example")
	require.NoError(t, err)
	return p
}

func TestComposeFileWiresTheStack(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"mysql", "postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "codec-server", "worker", "hwsim", "prometheus", "grafana"} {
		require.Contains(t, c.Services, name)
	}
	mysql := c.Services["mysql"]
	assert.True(t, strings.HasPrefix(mysql.Image, "mysql:8"), mysql.Image)
	assert.Contains(t, []string(mysql.Command), "--character-set-server=utf8mb4")
	require.NotNil(t, mysql.HealthCheck)
	for _, volume := range []string{"mysql-data", "temporal-pg-data"} {
		assert.Contains(t, c.Volumes, volume, "named volume declared")
	}

	assert.Equal(t, "127.0.0.1", c.Services["temporal"].Ports[0].HostIP)
	assert.Equal(t, "8233", c.Services["temporal-ui"].Ports[0].Published, "the UI on the README's port")
	assert.Equal(t, []string{"simulator"}, c.Services["hwsim"].Profiles, "the simulator is optional")
	assert.Equal(t, []string{"monitoring"}, c.Services["prometheus"].Profiles)
	assert.Equal(t, []string{"monitoring"}, c.Services["grafana"].Profiles)
	assert.Equal(t, []string{"encryption"}, c.Services["codec-server"].Profiles)
	assert.Equal(t, types.ServiceConditionCompletedSuccessfully, c.Services["temporal"].DependsOn["temporal-schema"].Condition,
		"the server starts on a schema the job created or upgraded")

	worker := c.Services["worker"]
	assert.NotNil(t, worker.Build, "the worker is built from the repo")
	assert.Equal(t, types.ServiceConditionHealthy, worker.DependsOn["mysql"].Condition)
	assert.Equal(t, types.ServiceConditionCompletedSuccessfully, worker.DependsOn["temporal-namespace"].Condition,
		"the worker starts once the namespace and search attributes exist")
	assert.False(t, worker.DependsOn["hwsim"].Required, "the simulator is optional for the worker")
	require.NotNil(t, worker.HealthCheck)
	assert.Equal(t, types.HealthCheckTest{"CMD", "worker", "healthcheck"}, worker.HealthCheck.Test, "healthy = /readyz answers 200")
	documented := readmeTable(t)
	for name := range worker.Environment {
		assert.Contains(t, documented, name, "worker variable %s is in the README table", name)
	}
	for _, required := range []string{"HUAWEI_ACCESS_KEY_FILE", "HUAWEI_SECRET_KEY_FILE", "HUAWEI_DOMAIN_ID", "DATABASE_URL", "DATABASE_PASSWORD_FILE", "TEMPORAL_ADDRESS", "METRICS_LISTEN"} {
		assert.Contains(t, worker.Environment, required)
	}
	assert.True(t, strings.HasPrefix(*worker.Environment["DATABASE_URL"], "mysql://"), "the worker uses the stack's MySQL")
}

func TestComposeFileHoldsNoSecrets(t *testing.T) {
	c := loadCompose(t)
	secretVar := regexp.MustCompile(`(?i)(PASSWORD|PWD|SECRET|ACCESS_KEY|PAYLOAD_KEY)`)
	hwsimDemoKeys := map[string]bool{"HWSIM_ACCESS_KEY": true, "HWSIM_SECRET_KEY": true} // the simulator's demo pair
	for name, svc := range c.Services {
		mounted := map[string]bool{}
		for _, s := range svc.Secrets {
			mounted["/run/secrets/"+s.Source] = true
		}
		for k, v := range svc.Environment {
			if !secretVar.MatchString(k) || hwsimDemoKeys[k] {
				continue
			}
			assert.True(t, strings.HasSuffix(k, "_FILE"), "%s.%s: a secret comes as a file (*_FILE), never as environment", name, k)
			assert.True(t, v != nil && mounted[*v], "%s.%s=%v names a secret the service mounts", name, k, v)
		}
		if raw := svc.Environment["DATABASE_URL"]; raw != nil {
			u, err := url.Parse(*raw)
			require.NoError(t, err)
			_, has := u.User.Password()
			assert.False(t, has, "%s: DATABASE_URL carries no password (DATABASE_PASSWORD_FILE does)", name)
		}
	}
	example, err := os.ReadFile("../../../.env.example")
	require.NoError(t, err)
	for name, secret := range c.Secrets {
		if secret.File != "" {
			continue // files the deployment keeps (internal/testkit/compose checks them), never a value here
		}
		assert.NotEmpty(t, secret.Environment, "secret %s comes from .env", name)
		assert.Contains(t, string(example), secret.Environment+"=", ".env.example lists %s", secret.Environment)
	}
}
