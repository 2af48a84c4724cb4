package bench

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// comm with a space and a parenthesis; utime 250, stime 50 ticks.
	line := "4242 (my (prog) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 1000000 200 18446744073709551615\n"
	got, err := parseStatCPU(line, 100)
	if want := 3 * time.Second; err != nil || got != want {
		t.Errorf("parseStatCPU: got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 x 50 0"} {
		if _, err := parseStatCPU(bad, 100); err == nil {
			t.Errorf("parseStatCPU(%q): got nil error", bad)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	got, err := parseSchedstat("1500000123 2000 7\n")
	if want := 1500000123 * time.Nanosecond; err != nil || got != want {
		t.Errorf("parseSchedstat: got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "1 2", "1 2 3 4", "x 2 3", "-5 2 3"} {
		if _, err := parseSchedstat(bad); err == nil {
			t.Errorf("parseSchedstat(%q): got nil error", bad)
		}
	}
}

// TestProcessCPUAgreesWithStat: where ProcessCPU sums the threads'
// schedstat run times, the sum is the utime+stime of /proc/PID/stat (the
// kernel derives those from the same run time), to within a few ticks.
func TestProcessCPUAgreesWithStat(t *testing.T) {
	if CPUResolution() != time.Nanosecond {
		t.Skip("no schedstat: ProcessCPU reads /proc/PID/stat itself")
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	sched, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	stat, err := parseStatCPU(string(data), ClockTicks())
	if err != nil {
		t.Fatal(err)
	}
	if d, tol := (sched - stat).Abs(), 5*time.Second/time.Duration(ClockTicks()); d > tol {
		t.Errorf("schedstat sum %v, /proc/self/stat %v: %v apart, want at most %v", sched, stat, d, tol)
	}
}

// TestProcessCPU: this process's CPU time grows while it spins.
func TestProcessCPU(t *testing.T) {
	if ClockTicks() != 100 {
		t.Logf("CLK_TCK is %d", ClockTicks())
	}
	// ThreadCPU reads the calling OS thread's time: without the lock the
	// goroutine may move to another thread mid-spin (CI saw 23ms -> 21ms).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	th0, err := ThreadCPU()
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(60 * time.Millisecond); time.Now().Before(end); {
	}
	t1, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	th1, err := ThreadCPU()
	if err != nil {
		t.Fatal(err)
	}
	if t1 <= t0 || th1 <= th0 {
		t.Errorf("CPU time did not grow while spinning: process %v -> %v, thread %v -> %v", t0, t1, th0, th1)
	}
	if rss, err := RSS(); err != nil || rss < 1<<20 {
		t.Errorf("RSS: got %d, %v; want at least 1 MiB", rss, err)
	}
}

// TestFloorCPU: the floor of each algorithm takes some CPU time and far
// less than a millisecond.
func TestFloorCPU(t *testing.T) {
	for _, alg := range Algs {
		per, err := FloorCPU(alg, 200)
		if err != nil {
			t.Fatal(err)
		}
		if per <= 0 || per > time.Millisecond {
			t.Errorf("FloorCPU(%s): got %v per check, want within (0, 1ms]", alg, per)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tload\nVmPeak:\t  900 kB\nVmHWM:\t   5120 kB\nVmRSS:\t   4096 kB\nThreads:\t4\n"
	m, err := parseStatus(status)
	if err != nil || m.RSS != 4096<<10 || m.Peak != 5120<<10 {
		t.Fatalf("parseStatus: %+v, %v", m, err)
	}
	if _, err := parseStatus("Name:\tload\nVmRSS:\t4096 kB\n"); err == nil {
		t.Error("parseStatus accepted a status without VmHWM")
	}
	if _, err := parseStatus("VmHWM:\tlots kB\nVmRSS:\t1 kB\n"); err == nil {
		t.Error("parseStatus accepted a non-number")
	}
}

// TestProcessMemory: after ResetPeakRSS the peak follows what is touched
// next, and never reads below the resident set.
func TestProcessMemory(t *testing.T) {
	pid := os.Getpid()
	if err := ResetPeakRSS(pid); err != nil {
		t.Skipf("clear_refs: %v", err)
	}
	m0, err := ProcessMemory(pid)
	if err != nil {
		t.Fatal(err)
	}
	if m0.Peak < m0.RSS || m0.RSS <= 0 {
		t.Fatalf("after reset: %+v", m0)
	}
	const n = 48 << 20
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	m1, err := ProcessMemory(pid)
	runtime.KeepAlive(b)
	if err != nil {
		t.Fatal(err)
	}
	if m1.Peak < m0.RSS+n-(4<<20) {
		t.Errorf("peak %d after touching %d bytes over a resident %d", m1.Peak, n, m0.RSS)
	}
}
