package metrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoGRPCDependency: among the library packages only grpcmw imports
// gRPC, so importing metrics for HTTP or JWKS metrics must not pull it in;
// nor does metrics import httpmw (its decision hooks are plain functions).
func TestNoGRPCDependency(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found (go test puts GOROOT/bin on PATH): %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/stepupauth/stepup/metrics").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	for _, d := range deps {
		if d == "google.golang.org/grpc" || strings.HasPrefix(d, "google.golang.org/grpc/") ||
			d == "github.com/stepupauth/stepup/grpcmw" || d == "github.com/stepupauth/stepup/httpmw" {
			t.Errorf("metrics depends on %s", d)
		}
	}
}
