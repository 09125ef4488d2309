package docs

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"expiry-sync/internal/config"
)

// envNames lists the variables a configuration struct reads (its env tags).
func envNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			names = append(names, envNames(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// readmeTable lists the variables of the README's configuration table.
func readmeTable(t *testing.T) []string {
	b, err := os.ReadFile("../../README.md")
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
	code := envNames(reflect.TypeFor[config.Worker]())
	require.NotEmpty(t, code)
	slices.Sort(documented)
	slices.Sort(code)
	assert.Equal(t, code, documented, "README configuration table vs the env tags in internal/config")
}

// composeFile models the part of the Compose specification the file uses;
// decoding with KnownFields catches a misspelt key.
type composeFile struct {
	Name     string `yaml:"name"`
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Profiles    []string          `yaml:"profiles"`
		Healthcheck *struct {
			Test        []string `yaml:"test"`
			Interval    string   `yaml:"interval"`
			Timeout     string   `yaml:"timeout"`
			Retries     int      `yaml:"retries"`
			StartPeriod string   `yaml:"start_period"`
		} `yaml:"healthcheck"`
		Restart   string `yaml:"restart"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
			Required  *bool  `yaml:"required"`
		} `yaml:"depends_on"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	b, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&c))
	return c
}

func TestComposeFileWiresTheStack(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"mysql", "temporal", "temporal-ui", "worker", "hwsim"} {
		require.Contains(t, c.Services, name)
	}
	mysql := c.Services["mysql"]
	assert.True(t, strings.HasPrefix(mysql.Image, "mysql:8"), mysql.Image)
	assert.Contains(t, mysql.Command, "--character-set-server=utf8mb4")
	require.NotNil(t, mysql.Healthcheck)
	assert.Contains(t, mysql.Volumes, "mysql-data:/var/lib/mysql")
	assert.Contains(t, c.Volumes, "mysql-data", "named volume declared")

	assert.Contains(t, c.Services["temporal"].Ports, "127.0.0.1:7233:7233")
	assert.Contains(t, c.Services["temporal-ui"].Ports, "127.0.0.1:8233:8080", "the UI on the README's port")
	assert.Equal(t, []string{"simulator"}, c.Services["hwsim"].Profiles, "the simulator is optional")

	worker := c.Services["worker"]
	assert.NotNil(t, worker.Build, "the worker is built from the repo")
	assert.Equal(t, "service_healthy", worker.DependsOn["mysql"].Condition)
	assert.Equal(t, "service_healthy", worker.DependsOn["temporal"].Condition)
	require.NotNil(t, worker.DependsOn["hwsim"].Required)
	assert.False(t, *worker.DependsOn["hwsim"].Required, "the simulator is optional for the worker")
	documented := readmeTable(t)
	for name := range worker.Environment {
		assert.Contains(t, documented, name, "worker variable %s is in the README table", name)
	}
	for _, required := range []string{"HUAWEI_ACCESS_KEY", "HUAWEI_SECRET_KEY", "HUAWEI_DOMAIN_ID", "DATABASE_URL", "TEMPORAL_ADDRESS"} {
		assert.Contains(t, worker.Environment, required)
	}
	assert.True(t, strings.HasPrefix(worker.Environment["DATABASE_URL"], "mysql://"), "the worker uses the stack's MySQL")
}

func TestComposeFileHoldsNoSecrets(t *testing.T) {
	c := loadCompose(t)
	secret := regexp.MustCompile(`(?i)(PASSWORD|PWD|SECRET|ACCESS_KEY)`)
	for name, svc := range c.Services {
		for k, v := range svc.Environment {
			if secret.MatchString(k) {
				assert.Regexp(t, `^\$\{[A-Z_]+(:[?-][^}]*)?\}$`, v, "%s.%s must come from .env", name, k)
			}
		}
		if url := svc.Environment["DATABASE_URL"]; url != "" {
			assert.Regexp(t, `:\$\{[A-Z_]*PASSWORD[^}]*\}@`, url, "%s: the database password comes from .env", name)
		}
	}
	example, err := os.ReadFile("../../.env.example")
	require.NoError(t, err)
	for _, v := range []string{"MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD", "HUAWEI_ACCESS_KEY", "HUAWEI_SECRET_KEY", "HUAWEI_DOMAIN_ID"} {
		assert.Contains(t, string(example), v+"=", ".env.example lists %s", v)
	}
}
