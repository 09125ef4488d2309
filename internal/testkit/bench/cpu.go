package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go builds for.
const clockTicks = 100

// procStat is what /proc/PID/stat tells of a process.
type procStat struct {
	comm string
	ppid int
	cpuS float64 // user + system CPU seconds since it started
}

// parseProcStat reads one /proc/PID/stat line. The command name is in
// parentheses and may hold spaces or parentheses itself: the fields
// start after the last ')'.
func parseProcStat(line string) (procStat, error) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("unreadable /proc stat line %q", line)
	}
	f := strings.Fields(line[end+1:])
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("short /proc stat line %q", line)
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseFloat(f[11], 64)
	stime, err3 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("unreadable /proc stat line %q", line)
	}
	return procStat{comm: line[open+1 : end], ppid: ppid, cpuS: (utime + stime) / clockTicks}, nil
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(bytes.TrimSpace(b)))
}

// cpuSeconds is a process's CPU time so far; 0 when it cannot be read (no
// /proc, a process gone or of another user's hidden /proc).
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return st.cpuS
}

// findProcess returns the pid of a process whose command is one of comms,
// among the children of parent (parent 0: any process); 0 when none is.
func findProcess(parent int, comms ...string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || (parent != 0 && st.ppid != parent) {
			continue
		}
		for _, c := range comms {
			if st.comm == c {
				return pid
			}
		}
	}
	return 0
}

// machineCPU is the machine's CPU time so far from /proc/stat: busy and
// total jiffies over every core.
type machineCPU struct{ busy, total float64 }

func parseMachineCPU(text string) (machineCPU, error) {
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var m machineCPU
		for i, v := range f[1:] {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return machineCPU{}, fmt.Errorf("unreadable /proc/stat cpu line %q", line)
			}
			if i >= 8 { // guest and guest_nice are already in user and nice
				break
			}
			m.total += n
			if i != 3 && i != 4 { // idle, iowait
				m.busy += n
			}
		}
		return m, nil
	}
	return machineCPU{}, fmt.Errorf("no cpu line in /proc/stat")
}

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	m, _ := parseMachineCPU(string(b))
	return m
}

// busyPct is the share of every core's time that was busy between two
// readings, in percent.
func busyPct(from, to machineCPU) float64 {
	if to.total <= from.total {
		return 0
	}
	return 100 * (to.busy - from.busy) / (to.total - from.total)
}

// cpuMeter reads the CPU time of the processes of a run: the worker, the
// simulator (served in this process, which during a sync only serves it
// and waits for the result), the Temporal dev server (a child of this
// process) and the database server (MariaDB, shared with whatever else
// uses it; SQLite runs inside the worker).
type cpuMeter struct {
	workerPID, temporalPID, dbPID int
	start                         [4]float64
	machine                       machineCPU
}

func newCPUMeter(workerPID int, db string) *cpuMeter {
	m := &cpuMeter{workerPID: workerPID, temporalPID: findProcess(os.Getpid(), "temporal")}
	if db == DBMySQL {
		m.dbPID = findProcess(0, "mariadbd", "mysqld")
	}
	m.start = m.read()
	m.machine = readMachineCPU()
	return m
}

func (m *cpuMeter) read() [4]float64 {
	return [4]float64{cpuSeconds(m.workerPID), cpuSeconds(os.Getpid()), cpuSeconds(m.temporalPID), cpuSeconds(m.dbPID)}
}

// stop records the CPU seconds each process spent since newCPUMeter.
func (m *cpuMeter) stop(r *Result) {
	now := m.read()
	r.WorkerCPUS, r.SimCPUS, r.TemporalCPUS, r.DBCPUS = now[0]-m.start[0], now[1]-m.start[1], now[2]-m.start[2], now[3]-m.start[3]
	if m.temporalPID == 0 {
		r.TemporalCPUS = 0
	}
	if m.dbPID == 0 {
		r.DBCPUS = 0
	}
	r.MachineCPUPct = busyPct(m.machine, readMachineCPU())
	for _, v := range []*float64{&r.WorkerCPUS, &r.SimCPUS, &r.TemporalCPUS, &r.DBCPUS, &r.MachineCPUPct} {
		*v = math.Round(*v*100) / 100 // /proc counts hundredths
	}
}
