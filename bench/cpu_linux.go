package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ClockTicks returns the kernel's clock tick rate (USER_HZ), the unit of
// the CPU times in /proc/PID/stat, from getconf CLK_TCK; it falls back to
// 100, the value of every Linux architecture Go supports, when getconf
// cannot be run.
var ClockTicks = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
})

// ProcessCPU returns the CPU time (user plus system, all threads) the
// process pid has used so far. Where the kernel keeps scheduler statistics
// (/proc/PID/schedstat) it is the sum of the run times of the process's
// threads (the first field of each /proc/PID/task/TID/schedstat), to the
// nanosecond; a thread that has exited is no longer counted (a Go server's
// threads do not exit). Elsewhere it is fields 14 and 15 of
// /proc/PID/stat, to the clock tick (10 ms at 100 Hz). CPUResolution says
// which.
func ProcessCPU(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	if !schedstat() {
		data, err := os.ReadFile(dir + "/stat")
		if err != nil {
			return 0, err
		}
		return parseStatCPU(string(data), ClockTicks())
	}
	tasks, err := os.ReadDir(dir + "/task")
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(dir + "/task/" + t.Name() + "/schedstat")
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited since ReadDir
		}
		if err != nil {
			return 0, err
		}
		d, err := parseSchedstat(string(data))
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// schedstat reports whether this kernel has /proc/PID/schedstat.
var schedstat = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/schedstat")
	return err == nil
})

// CPUResolution is the resolution of ProcessCPU's figures: a nanosecond
// from schedstat, one clock tick from /proc/PID/stat.
func CPUResolution() time.Duration {
	if schedstat() {
		return time.Nanosecond
	}
	return time.Second / time.Duration(ClockTicks())
}

// parseSchedstat reads the run time out of a schedstat line: three
// numbers, the first the nanoseconds the task has run on a CPU.
func parseSchedstat(line string) (time.Duration, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return 0, errors.New("bench: schedstat line is not three numbers")
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bench: schedstat run time %q", f[0])
	}
	return time.Duration(n), nil
}

// parseStatCPU reads utime and stime out of a /proc/PID/stat line. The
// second field (comm, in parentheses) may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func parseStatCPU(stat string, ticks int64) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bench: /proc stat line without comm")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat line")
	}
	var sum int64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat: %w", err)
		}
		sum += n
	}
	return time.Duration(sum) * time.Second / time.Duration(ticks), nil
}

// ThreadCPU returns the CPU time the calling OS thread has used
// (getrusage RUSAGE_THREAD, microsecond resolution). Lock the goroutine to
// its thread (runtime.LockOSThread) around the code measured.
func ThreadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// RSS returns the resident set size of this process, VmRSS of
// /proc/self/status, in bytes.
func RSS() (int64, error) {
	m, err := readMemory("/proc/self/status")
	return m.RSS, err
}

// Memory is a process's resident set: VmRSS and VmHWM of /proc/PID/status,
// in bytes.
type Memory struct {
	RSS  int64 // resident now
	Peak int64 // the most resident since start, or since ResetPeakRSS
}

// ProcessMemory returns the resident set of the process pid.
func ProcessMemory(pid int) (Memory, error) {
	return readMemory("/proc/" + strconv.Itoa(pid) + "/status")
}

// ResetPeakRSS sets the peak resident set (VmHWM) of the process pid back
// to its current one, by writing 5 to /proc/PID/clear_refs (Linux 4.0 and
// later; the process must be this user's), so that the next
// ProcessMemory's Peak is the peak of what runs in between.
func ResetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

func readMemory(path string) (Memory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(string(data))
}

// parseStatus reads VmRSS and VmHWM out of a /proc/PID/status file.
func parseStatus(status string) (Memory, error) {
	var m Memory
	seen := 0
	for line := range strings.Lines(status) {
		var dst *int64
		name, rest, _ := strings.Cut(line, ":")
		switch name {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("bench: %s: %w", name, err)
		}
		*dst = kb << 10
		seen++
	}
	if seen != 2 {
		return Memory{}, errors.New("bench: no VmRSS or VmHWM in /proc status")
	}
	return m, nil
}
