package apptest

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Command is an example command built from the test's package directory
// and running as its own process.
type Command struct {
	cmd *exec.Cmd
	// Addr is the address from the command's ready line.
	Addr string
	// Stderr is what the command logged so far.
	Stderr *Buffer
}

// StartCommand builds the command of the current package directory
// (go build), runs it with args and waits, bounded by ctx, for its ready
// line on stdout: "NAME: serving FILE on PREFIXADDR (...)". The process is
// killed when the test ends, if it still runs.
func StartCommand(t testing.TB, ctx context.Context, name, prefix string, args ...string) *Command {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := &Command{cmd: exec.CommandContext(ctx, bin, args...), Stderr: new(Buffer)}
	c.cmd.Stderr = c.Stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill() }) // no-op once it exited

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), name+": serving "); ok {
				if _, after, ok := strings.Cut(rest, " on "+prefix); ok {
					a, _, _ := strings.Cut(after, " ")
					addr <- a
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case c.Addr = <-addr:
	case <-ctx.Done():
		t.Fatalf("%s: no ready line; stderr:\n%s", name, c.Stderr.String())
	}
	return c
}

// Terminate sends SIGTERM and expects a clean exit (status 0) with the
// shutdown logged (msg=stopped).
func (c *Command) Terminate(t testing.TB) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0; stderr:\n%s", err, c.Stderr.String())
	}
	if !strings.Contains(c.Stderr.String(), "msg=stopped") {
		t.Errorf("stderr lacks the shutdown line (msg=stopped):\n%s", c.Stderr.String())
	}
}
