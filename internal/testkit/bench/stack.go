// Package bench measures whole syncs on the real stack (the Temporal dev
// server, a worker process, the Huawei API simulator, MariaDB) against the
// bounds the settings allow, and against the seed's naive way of syncing.
package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// Stack is what every measured point shares: one dev server and a built
// worker binary.
type Stack struct {
	dev       *testsuite.DevServer
	workerBin string
	mysqlURL  string // server URL, a database is created per point
	dir       string
	logger    *slog.Logger
}

// StartStack builds the worker and starts the dev server.
func StartStack(ctx context.Context, temporalCLI, mysqlServerURL string, logger *slog.Logger) (*Stack, error) {
	dir, err := os.MkdirTemp("", "expiry-sync-bench-")
	if err != nil {
		return nil, err
	}
	s := &Stack{workerBin: filepath.Join(dir, "worker"), mysqlURL: mysqlServerURL, dir: dir, logger: logger}
	logger.Info("building the worker")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", s.workerBin, "expiry-sync/worker").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build expiry-sync/worker (run the bench inside the repository): %v\n%s", err, out)
	}
	logger.Info("starting the Temporal dev server", "cli", temporalCLI)
	s.dev, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  temporalCLI,
		LogLevel:      "error",
		ClientOptions: &client.Options{Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("dev server: %w", err)
	}
	return s, nil
}

// Close stops the dev server and removes the build.
func (s *Stack) Close() {
	if s.dev != nil {
		_ = s.dev.Stop()
	}
	_ = os.RemoveAll(s.dir)
}

func adminDB(serverURL string) (*sql.DB, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, err
	}
	pass, _ := u.User.Password()
	db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/?timeout=5s&parseTime=true", u.User.Username(), pass, u.Host))
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("MariaDB at %s: %w", u.Host, err)
	}
	return db, nil
}

// workerProc is a running worker process.
type workerProc struct {
	cmd      *exec.Cmd
	done     chan error
	stopOnce sync.Once
}

// startWorker runs the worker binary with env and waits for it to poll.
func (s *Stack) startWorker(ctx context.Context, env []string, logPath string) (*workerProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.workerBin)
	cmd.Env = append(baseEnv(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the bench
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &workerProc{cmd: cmd, done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait(); logFile.Close() }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "worker started") {
			return w, nil
		}
		select {
		case err := <-w.done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("worker exited: %v\n%s", err, b)
		default:
		}
	}
	w.stop()
	return nil, fmt.Errorf("worker did not start within 30s, see %s", logPath)
}

// baseEnv is this process's environment without the settings a worker
// reads (HUAWEI_*, DATABASE_*, TEMPORAL_*, EXPIRY_SYNC_*, WORKER_*): the
// bench gives the worker each of its own.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc([]string{"HUAWEI_", "HUAWEICLOUD_", "DATABASE_", "TEMPORAL_", "EXPIRY_SYNC_", "WORKER_", "METRICS_", "LOG_"},
			func(p string) bool { return strings.HasPrefix(name, p) }) {
			env = append(env, kv)
		}
	}
	return env
}

// peakRSSMB reads the process's peak resident set (VmHWM).
func (w *workerProc) peakRSSMB() float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// stop interrupts the worker and waits for it to end; it may be called
// again.
func (w *workerProc) stop() {
	w.stopOnce.Do(func() {
		_ = w.cmd.Process.Signal(os.Interrupt)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
}
