package topology

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"expiry-sync/internal/testkit/compose"
)

// process is one piece of the topology running on this machine.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start runs bin with env (and nothing else from the test's environment
// but PATH and HOME), logging to a file kept in the test's temp dir.
func start(t *testing.T, name, bin string, args []string, env map[string]string) *process {
	t.Helper()
	p := &process{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	require.NoError(t, err)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start(), "start %s", name)
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *process) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// run runs a one-shot job (a compose job's entrypoint) to its end.
func run(t *testing.T, name string, argv []string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
	return string(out)
}

// environ is env plus the PATH and HOME that tools need, sorted.
func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out[2:])
	return out
}

// freePort finds a free loopback port below 32768: Temporal stores its
// membership ports as a PostgreSQL smallint, and the kernel's own choice
// (ephemeral ports) lies above.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", loopback(port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in 20000..32000")
	return 0
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// hostPath maps a path inside a service's container to this machine: a
// bind mount's target to its source (the repository's deploy/ files), a
// secret to a file holding the secret's value.
func hostPath(t *testing.T, p *types.Project, svc types.ServiceConfig, path string) string {
	t.Helper()
	if name, ok := compose.SecretFile(path); ok {
		secret, ok := p.Secrets[name]
		require.True(t, ok, "service %s mounts undeclared secret %s", svc.Name, name)
		file := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(file, []byte(secret.Content), 0o600))
		return file
	}
	for _, v := range svc.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if rest, ok := strings.CutPrefix(path, v.Target); ok && (rest == "" || rest[0] == '/') {
			return v.Source + rest
		}
	}
	return path
}

// mapPaths applies hostPath to every value of env that is an absolute path
// into a mount or a secret.
func mapPaths(t *testing.T, p *types.Project, svc types.ServiceConfig, env map[string]string) {
	for k, v := range env {
		if strings.HasPrefix(v, "/") {
			env[k] = hostPath(t, p, svc, v)
		}
	}
}

// eventually polls cond until it holds or bound passes.
func eventually(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", bound, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
