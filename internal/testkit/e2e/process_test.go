package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"expiry-sync/internal/config"
)

var (
	buildWorker sync.Once
	workerBin   string
	buildErr    error
)

// workerBinary builds ./worker once per test binary.
func workerBinary(t *testing.T) string {
	buildWorker.Do(func() {
		dir, err := os.MkdirTemp("", "expiry-sync-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		workerBin = filepath.Join(dir, "worker")
		out, err := exec.Command("go", "build", "-o", workerBin, "../../../worker").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./worker: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return workerBin
}

// workerProcess is a worker running as its own process, as in production.
type workerProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// workerEnv is the environment a worker process reads its configuration
// from: the HUAWEI_* account, or the accounts file.
func workerEnv(cfg config.Worker) []string {
	h := cfg.Huawei
	account := []string{
		"HUAWEI_ACCESS_KEY=" + h.AccessKey.Reveal(), "HUAWEI_SECRET_KEY=" + h.SecretKey.Reveal(), "HUAWEI_DOMAIN_ID=" + h.DomainID,
		"HUAWEI_BSS_ENDPOINT=" + h.BSSEndpoint, "HUAWEI_TMS_ENDPOINT=" + h.TMSEndpoint, "HUAWEI_HTTP_TIMEOUT=" + h.HTTPTimeout.String(),
		fmt.Sprintf("HUAWEI_BSS_RATE=%g", h.BSSRate), fmt.Sprintf("HUAWEI_TMS_RATE=%g", h.TMSRate),
	}
	if cfg.AccountsFile != "" {
		account = []string{config.AccountsFileEnv + "=" + cfg.AccountsFile}
	}
	if cfg.RenewMode != "" {
		account = append(account, config.RenewModeEnv+"="+cfg.RenewMode, config.RenewPolicyFileEnv+"="+cfg.RenewPolicyFile)
	}
	return append(account, fmt.Sprintf("HUAWEI_BSS_IP_RATE=%g", cfg.BSSIPRate), // as the in-process worker's
		"TEMPORAL_ADDRESS="+cfg.Temporal.Address, "TEMPORAL_NAMESPACE="+cfg.Temporal.Namespace,
		"TEMPORAL_TASK_QUEUE="+cfg.Temporal.TaskQueue, "DATABASE_URL="+cfg.DatabaseURL.Reveal(),
		"DATABASE_MIGRATION_URL="+cfg.DatabaseMigrationURL.Reveal(),
		"EXPIRY_SYNC_PAYLOAD_KEY="+cfg.Temporal.PayloadKey.Reveal(),
	)
}

// startWorkerProcess starts a worker process and waits until it polls.
func (s *stack) startWorkerProcess() *workerProcess {
	s.t.Helper()
	s.workers++
	w := &workerProcess{t: s.t, log: filepath.Join(s.t.TempDir(), fmt.Sprintf("worker-%d.log", s.workers)), done: make(chan struct{})}
	logFile, err := os.Create(w.log)
	require.NoError(s.t, err)
	w.cmd = exec.Command(workerBinary(s.t))
	w.cmd.Env = append(os.Environ(), workerEnv(s.cfg)...)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(s.t, w.cmd.Start())
	go func() { _ = w.cmd.Wait(); logFile.Close(); close(w.done) }()
	s.t.Cleanup(w.stop)
	eventually(s.t, "the worker process starts", 30*time.Second, func() bool {
		b, _ := os.ReadFile(w.log)
		return strings.Contains(string(b), "worker started")
	})
	s.workerLogs = append(s.workerLogs, w.log)
	return w
}

// kill ends the worker at once, as a crash or an OOM kill would.
func (w *workerProcess) kill() {
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

func (w *workerProcess) stop() {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		w.kill()
	}
}
