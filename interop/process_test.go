package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Time bounds of the subprocesses.
const (
	startTimeout = 60 * time.Second // until the ready line
	stopTimeout  = 15 * time.Second // SIGTERM to exit, then SIGKILL
)

// raceExitCode is the exit status of a program built with -race that found
// a data race.
const raceExitCode = 66

// process is a subprocess in its own process group. It is killed with its
// group when the test ends, when the test binary dies (Pdeathsig) and, for
// the Node scripts, when its standard input closes.
type process struct {
	name string
	cmd  *exec.Cmd
	// stdin is held open for the process' lifetime: the Node scripts exit
	// when it closes.
	stdin io.WriteCloser

	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	lines  chan string // stdout lines until the ready line is found

	done    chan struct{} // closed when the process has exited
	waitErr error
}

// syncWriter appends to a buffer under the process' lock.
type syncWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// startProcess starts name with args in dir (env added to the test's
// environment) and waits until a line of its standard output satisfies
// ready, returning what ready extracted from it. The process is stopped in
// t.Cleanup; its stderr is logged if the test failed.
func startProcess(t *testing.T, name, dir string, env []string, ready func(line string) (string, bool), args ...string) (*process, string) {
	t.Helper()
	p, found, err := launch(name, dir, env, ready, args...)
	if p != nil {
		t.Cleanup(func() { p.stopAndCheck(t) })
	}
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	return p, found
}

// launch is startProcess without a testing.T, for TestMain and restarts: the
// caller stops the process.
func launch(name, dir string, env []string, ready func(line string) (string, bool), args ...string) (*process, string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &process{name: name, cmd: cmd, lines: make(chan string, 64), done: make(chan struct{})}
	cmd.Stderr = syncWriter{&p.mu, &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go p.readStdout(stdout)

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				return p, "", fmt.Errorf("exited before it was ready (%v); stderr:\n%s", p.waitErr, p.Stderr())
			}
			if found, ok := ready(line); ok {
				return p, found, nil
			}
		case <-timer.C:
			return p, "", fmt.Errorf("not ready after %v; stdout:\n%s\nstderr:\n%s", startTimeout, p.Stdout(), p.Stderr())
		}
	}
}

// readStdout copies stdout into the buffer and hands lines to the ready
// check; it reaps the process at EOF.
func (p *process) readStdout(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.stdout.WriteString(line + "\n")
		p.mu.Unlock()
		select {
		case p.lines <- line:
		default: // nobody waits for a ready line any more
		}
	}
	_, _ = io.Copy(io.Discard, r)
	close(p.lines)
	p.waitErr = p.cmd.Wait()
	close(p.done)
}

// nextLine returns the next line the process printed after its ready
// line, for a script that answers requests on standard output
// (dpop-client.mjs): one line a request, read before the next is sent.
// Lines nobody reads are dropped once 64 are queued.
func (p *process) nextLine(ctx context.Context) (string, error) {
	select {
	case line, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("%s exited; stderr:\n%s", p.name, tail(p.Stderr(), 4<<10))
		}
		return line, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Stdout returns what the process printed so far.
func (p *process) Stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// Stderr returns what the process logged so far.
func (p *process) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// stop ends the process group: SIGTERM, then SIGKILL after stopTimeout. It
// returns the process' exit error (nil for a clean exit), or an error when
// it had to be killed. It is idempotent.
func (p *process) stop() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything the group left behind
		return p.waitErr
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %v after SIGTERM", p.name, stopTimeout)
	}
}

// stopAndCheck stops the process and fails the test if it did not exit
// cleanly or its race detector reported a race; on failure it logs the
// process' stderr.
func (p *process) stopAndCheck(t *testing.T) {
	t.Helper()
	err := p.stop()
	stderr := p.Stderr()
	var exit *exec.ExitError
	switch {
	case strings.Contains(stderr, "WARNING: DATA RACE"):
		t.Errorf("%s: the race detector reported a data race", p.name)
	case errors.As(err, &exit) && exit.ExitCode() == raceExitCode:
		t.Errorf("%s: exit status %d (race detector)", p.name, raceExitCode)
	case err != nil && !isTermination(err):
		t.Errorf("%s: %v", p.name, err)
	}
	if t.Failed() {
		t.Logf("%s stderr:\n%s", p.name, tail(stderr, 8<<10))
	}
}

// isTermination reports whether err is the exit of a process that was
// ended by SIGTERM without handling it (Node's default for a script that
// does not).
func isTermination(err error) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// runCommand runs a short-lived command bounded by ctx and returns its
// stdout, stderr and exit code (-1 when it did not run or was killed).
func runCommand(ctx context.Context, dir string, env []string, name string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0, nil
	case errors.As(err, &exit) && ctx.Err() == nil:
		return out.String(), errb.String(), exit.ExitCode(), nil
	default:
		return out.String(), errb.String(), -1, err
	}
}
