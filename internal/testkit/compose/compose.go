// Package compose loads docker-compose.yml with compose-go, the loader of
// `docker compose` itself: interpolation, profiles, secrets and validation
// behave as they will in production. Tests read the deployment from it, so
// that the processes they run cannot drift from the file.
package compose

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Load reads dir/docker-compose.yml with the variables of envFile (as .env)
// and every profile enabled.
func Load(ctx context.Context, dir, envFile string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "docker-compose.yml")},
		cli.WithWorkingDirectory(dir),
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// Service returns the named service or an error naming it.
func Service(p *types.Project, name string) (types.ServiceConfig, error) {
	svc, ok := p.Services[name]
	if !ok {
		return types.ServiceConfig{}, fmt.Errorf("docker-compose.yml has no service %q", name)
	}
	return svc, nil
}

// Env is a service's environment as a plain map (unset values are "").
func Env(svc types.ServiceConfig) map[string]string {
	env := make(map[string]string, len(svc.Environment))
	for k, v := range svc.Environment {
		if v != nil {
			env[k] = *v
		} else {
			env[k] = ""
		}
	}
	return env
}

// ImageTag is the tag of a service's image ("1.32.2" of temporalio/server:1.32.2).
func ImageTag(svc types.ServiceConfig) string {
	_, tag, _ := strings.Cut(svc.Image, ":")
	return tag
}

// SecretFile maps a path under /run/secrets to its secret's name.
func SecretFile(path string) (name string, ok bool) {
	return strings.CutPrefix(path, "/run/secrets/")
}
