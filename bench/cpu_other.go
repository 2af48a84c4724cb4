//go:build !linux

package bench

import (
	"errors"
	"time"
)

var errNoProc = errors.New("bench: CPU and memory figures need Linux's /proc")

// ClockTicks is the clock tick rate of /proc; off Linux there is none.
func ClockTicks() int64 { return 100 }

// ProcessCPU needs Linux's /proc.
func ProcessCPU(int) (time.Duration, error) { return 0, errNoProc }

// CPUResolution is that of ProcessCPU's figures, which need /proc.
func CPUResolution() time.Duration { return time.Second / time.Duration(ClockTicks()) }

// ThreadCPU needs Linux's getrusage(RUSAGE_THREAD).
func ThreadCPU() (time.Duration, error) { return 0, errNoProc }

// RSS needs Linux's /proc.
func RSS() (int64, error) { return 0, errNoProc }

// Memory is a process's resident set: VmRSS and VmHWM of /proc/PID/status,
// in bytes.
type Memory struct {
	RSS  int64 // resident now
	Peak int64 // the most resident since start, or since ResetPeakRSS
}

// ProcessMemory needs Linux's /proc.
func ProcessMemory(int) (Memory, error) { return Memory{}, errNoProc }

// ResetPeakRSS needs Linux's /proc.
func ResetPeakRSS(int) error { return errNoProc }
