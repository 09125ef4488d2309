package compose_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
	"expiry-sync/internal/notify"
	"expiry-sync/internal/testkit/compose"
)

const (
	repo          = "../../.."
	configDir     = "/etc/expiry-sync"         // the worker's accounts and routes files
	secretsDir    = "/run/secrets/expiry-sync" // the files they name
	secretsSource = "expiry_sync_secrets"      // the compose secret mounted there
)

// load reads docker-compose.yml with .env.example as .env, its variables
// named in set replaced (or added).
func load(t *testing.T, set map[string]string) *types.Project {
	t.Helper()
	example, err := os.ReadFile(filepath.Join(repo, ".env.example"))
	require.NoError(t, err)
	var lines []string
	for _, line := range strings.Split(string(example), "\n") {
		name, _, _ := strings.Cut(line, "=")
		if _, replaced := set[name]; !replaced {
			lines = append(lines, line)
		}
	}
	for k, v := range set {
		lines = append(lines, k+"="+v)
	}
	env := filepath.Join(t.TempDir(), ".env")
	require.NoError(t, os.WriteFile(env, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	p, err := compose.Load(context.Background(), repo, env)
	require.NoError(t, err, "docker-compose.yml loads")
	return p
}

// secretTarget is where a service sees one of its secrets.
func secretTarget(s types.ServiceSecretConfig) string {
	target := s.Target
	if target == "" {
		target = s.Source
	}
	if !strings.HasPrefix(target, "/") {
		target = "/run/secrets/" + target
	}
	return target
}

func under(path, dir string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(path, dir)
	return rest, ok && (rest == "" || rest[0] == '/')
}

// hostPath maps a path inside the worker's container to this machine, as
// Docker mounts it: a secret of .env to a file holding its value, a file
// secret or a bind mount to its source.
func hostPath(t *testing.T, p *types.Project, svc types.ServiceConfig, path string) string {
	t.Helper()
	for _, s := range svc.Secrets {
		rest, ok := under(path, secretTarget(s))
		if !ok {
			continue
		}
		secret := p.Secrets[s.Source]
		if secret.File != "" {
			return secret.File + rest
		}
		file := filepath.Join(t.TempDir(), s.Source)
		require.NoError(t, os.WriteFile(file, []byte(secret.Content), 0o600))
		return file
	}
	for _, v := range svc.Volumes {
		if rest, ok := under(path, v.Target); ok && v.Type == types.VolumeTypeBind {
			return v.Source + rest
		}
	}
	return path
}

// loadWorker runs the worker's configuration loader on the worker
// service's environment, its paths mapped to this machine.
func loadWorker(t *testing.T, p *types.Project) config.Worker {
	t.Helper()
	svc, err := compose.Service(p, "worker")
	require.NoError(t, err)
	for k, v := range compose.Env(svc) {
		if strings.HasPrefix(v, "/") {
			v = hostPath(t, p, svc, v)
		}
		t.Setenv(k, v)
	}
	cfg, err := config.LoadWorker()
	require.NoError(t, err, "the worker starts on this environment")
	return cfg
}

// The worker mounts a config directory for the accounts and routes files,
// and a directory of files as a compose secret for what they name: files,
// never environment, seen by the worker alone. As shipped, both exist and
// the worker serves the one account of .env, without reminders.
func TestWorkerMountsItsFilesAndStartsWithoutThem(t *testing.T) {
	p := load(t, nil)
	worker, err := compose.Service(p, "worker")
	require.NoError(t, err)
	env := compose.Env(worker)
	for _, name := range []string{config.AccountsFileEnv, notify.ConfigEnv, "HUAWEI_SITE"} {
		assert.Contains(t, env, name, "the worker service passes %s", name)
	}
	assert.Empty(t, env[config.AccountsFileEnv], "no accounts file unless .env names one")
	assert.Empty(t, env[notify.ConfigEnv], "no reminders unless .env names a routes file")
	assert.Equal(t, "cn", env["HUAWEI_SITE"])
	assert.Equal(t, "/run/secrets/huawei_access_key", env["HUAWEI_ACCESS_KEY_FILE"], "the one account's keys are files")
	assert.Equal(t, "/run/secrets/huawei_secret_key", env["HUAWEI_SECRET_KEY_FILE"])

	var mount *types.ServiceVolumeConfig
	for i, v := range worker.Volumes {
		if v.Target == configDir {
			mount = &worker.Volumes[i]
		}
	}
	require.NotNil(t, mount, "the worker mounts %s", configDir)
	assert.True(t, mount.ReadOnly, "read-only")
	assert.Equal(t, types.VolumeTypeBind, mount.Type)
	info, err := os.Stat(mount.Source)
	require.NoError(t, err, "the default config directory is in the repository")
	assert.True(t, info.IsDir())

	secret, ok := p.Secrets[secretsSource]
	require.True(t, ok, "secret %s is declared", secretsSource)
	assert.Empty(t, secret.Environment, "a file source, never a value in .env")
	assert.Empty(t, secret.Content)
	info, err = os.Stat(secret.File)
	require.NoError(t, err, "the default secrets directory is in the repository")
	assert.True(t, info.IsDir())
	ignore, err := os.ReadFile(filepath.Join(secret.File, ".gitignore"))
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(ignore), "\n"), "*", "its files stay out of git")
	for name, svc := range p.Services {
		mounted := slices.ContainsFunc(svc.Secrets, func(s types.ServiceSecretConfig) bool { return s.Source == secretsSource })
		assert.Equal(t, name == "worker", mounted, "%s: only the worker sees the secrets directory", name)
	}
	i := slices.IndexFunc(worker.Secrets, func(s types.ServiceSecretConfig) bool { return s.Source == secretsSource })
	assert.Equal(t, secretsDir, secretTarget(worker.Secrets[i]))

	cfg := loadWorker(t, p)
	require.Len(t, cfg.Accounts, 1)
	assert.Equal(t, config.DefaultAccount, cfg.Accounts[0].Name)
	assert.Empty(t, cfg.AccountsFile)
	assert.Empty(t, cfg.NotifyFile)
}

// HUAWEI_SITE reaches the worker, cn when .env has none, and no endpoint
// is set unless .env sets one: an intl or eu account gets its site's
// endpoints, never China's.
func TestHuaweiSitePassesThrough(t *testing.T) {
	for site, want := range map[string]string{"": "cn", "intl": "intl", "eu": "eu"} {
		p := load(t, map[string]string{"HUAWEI_BSS_ENDPOINT": "", "HUAWEI_TMS_ENDPOINT": "", "HUAWEI_SITE": site})
		worker, err := compose.Service(p, "worker")
		require.NoError(t, err)
		env := compose.Env(worker)
		assert.Equal(t, want, env["HUAWEI_SITE"], "HUAWEI_SITE=%q", site)
		assert.Empty(t, env["HUAWEI_BSS_ENDPOINT"], "no endpoint overrides the site")
		assert.Empty(t, env["HUAWEI_TMS_ENDPOINT"])
		cfg := loadWorker(t, p)
		require.Len(t, cfg.Accounts, 1)
		assert.Equal(t, want, cfg.Accounts[0].Huawei.Site)
		assert.Empty(t, cfg.Accounts[0].Huawei.BSSEndpoint)
	}
	p := load(t, nil) // the demo's .env: the simulator's endpoints
	worker, err := compose.Service(p, "worker")
	require.NoError(t, err)
	assert.Equal(t, "http://hwsim:8090", compose.Env(worker)["HUAWEI_BSS_ENDPOINT"])
}

// copyExample writes deploy/expiry-sync/<example> into dir as name, the
// container's secret paths replaced by where they are on this machine.
func copyExample(t *testing.T, example, dir, name, secrets string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "deploy/expiry-sync", example))
	require.NoError(t, err)
	assert.Contains(t, string(b), secretsDir+"/", "%s names its secrets under %s", example, secretsDir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(string(b), secretsDir, secrets)), 0o600))
}

// With an accounts file and a routes file named in .env (the examples,
// their secrets as files), the single account's variables left empty,
// the worker starts serving the file's accounts, reads the routes file,
// and every secret the files name is a file of the secrets directory.
func TestAccountsAndRemindersFromFiles(t *testing.T) {
	conf, secrets := t.TempDir(), t.TempDir()
	p := load(t, map[string]string{
		"HUAWEI_ACCESS_KEY": "", "HUAWEI_SECRET_KEY": "", "HUAWEI_DOMAIN_ID": "", "HUAWEI_SITE": "",
		"HUAWEI_BSS_ENDPOINT": "", "HUAWEI_TMS_ENDPOINT": "",
		config.AccountsFileEnv: configDir + "/accounts.yaml", notify.ConfigEnv: configDir + "/notify.yaml",
		"EXPIRY_SYNC_CONFIG_DIR": conf, "EXPIRY_SYNC_SECRETS_DIR": secrets,
	})
	worker, err := compose.Service(p, "worker")
	require.NoError(t, err)
	env := compose.Env(worker)
	assert.Equal(t, configDir+"/accounts.yaml", env[config.AccountsFileEnv])
	assert.Equal(t, configDir+"/notify.yaml", env[notify.ConfigEnv])
	for _, name := range []string{"HUAWEI_ACCESS_KEY_FILE", "HUAWEI_SECRET_KEY_FILE", "HUAWEI_DOMAIN_ID"} {
		assert.Empty(t, env[name], "%s follows its key: empty with an accounts file", name)
	}
	assert.Equal(t, secrets, p.Secrets[secretsSource].File, "EXPIRY_SYNC_SECRETS_DIR moves the secrets directory")

	mapped := hostPath(t, p, worker, secretsDir)
	assert.Equal(t, secrets, mapped)
	copyExample(t, "accounts.example.yaml", conf, "accounts.yaml", mapped)
	copyExample(t, "notify.example.yaml", conf, "notify.yaml", mapped)
	for _, name := range []string{"prod_ak", "prod_sk", "eu_ak", "eu_sk", "ding-url", "ding-secret", "hook-secret"} {
		value := "value-of-" + name
		if name == "ding-url" {
			value = "https://oapi.dingtalk.com/robot/send?access_token=t"
		}
		require.NoError(t, os.WriteFile(filepath.Join(secrets, name), []byte(value+"\n"), 0o600))
	}

	cfg := loadWorker(t, p)
	var names, sites []string
	for _, a := range cfg.Accounts {
		names, sites = append(names, a.Name), append(sites, a.Huawei.Site)
		assert.Equal(t, "value-of-"+a.Name+"_ak", a.Huawei.AccessKey.Reveal(), "%s's key is read from its file", a.Name)
	}
	assert.Equal(t, []string{"prod", "eu"}, names)
	assert.Equal(t, []string{"cn", "eu"}, sites)

	routes, err := notify.Load(cfg.NotifyFile)
	require.NoError(t, err, "the worker reads the routes file")
	require.NotEmpty(t, routes.Channels)
	for name, ch := range routes.Channels {
		for _, ref := range []notify.Ref{ch.URL, ch.Secret} {
			if strings.HasPrefix(string(ref), "file:") {
				_, err := ref.Resolve()
				assert.NoError(t, err, "channel %s: %s is a file of the secrets directory", name, ref)
			}
		}
		assert.False(t, strings.HasPrefix(string(ch.Secret), "env:"), "channel %s: secrets are files in compose", name)
	}
}
