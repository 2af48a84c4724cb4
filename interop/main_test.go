package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What TestMain finds or builds.
var (
	repoRoot   string // the stepup checkout (this module's parent)
	httpapiBin string // examples/httpapi built with -race
	grpcapiBin string // examples/grpcapi built with -race
	grpcurlBin string // .bin/grpcurl, installed by setup.sh
	nodeBin    string
)

// buildTimeout bounds the build of the example servers.
const buildTimeout = 8 * time.Minute

// setupHint is what to run when a prerequisite is missing.
const setupHint = "run `bash interop/setup.sh` from the repository root first (npm ci, grpcurl)"

func TestMain(m *testing.M) {
	cleanup, err := prepare()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		if cleanup != nil {
			cleanup()
		}
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// prepare checks the prerequisites and builds the example servers into a
// temporary directory, which cleanup removes.
func prepare() (cleanup func(), err error) {
	if repoRoot, err = filepath.Abs(".."); err != nil {
		return nil, err
	}
	if nodeBin, err = exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("node not found: %v; %s", err, setupHint)
	}
	for _, f := range []string{"node_modules/oidc-provider/package.json", "node_modules/@grpc/grpc-js/package.json"} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s missing: %s", f, setupHint)
		}
	}
	if grpcurlBin, err = filepath.Abs(filepath.Join(".bin", "grpcurl")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(grpcurlBin); err != nil {
		return nil, fmt.Errorf("grpcurl missing: %s", setupHint)
	}

	dir, err := os.MkdirTemp("", "stepup-interop-")
	if err != nil {
		return nil, err
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// Built from the repository root with its go.mod: exactly what
	// `go run ./examples/httpapi` runs, with the race detector on.
	_, stderr, code, err := runCommand(ctx, repoRoot, nil, "go", "build", "-race", "-o", dir+string(filepath.Separator),
		"./examples/httpapi", "./examples/grpcapi")
	if err != nil || code != 0 {
		return cleanup, fmt.Errorf("building the examples (exit %d, %v):\n%s", code, err, strings.TrimSpace(stderr))
	}
	httpapiBin, grpcapiBin = filepath.Join(dir, "httpapi"), filepath.Join(dir, "grpcapi")
	return cleanup, nil
}
