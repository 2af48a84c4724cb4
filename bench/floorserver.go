package bench

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// FloorServerEnv is the environment variable that makes a program serve
// the floor server (ServeFloorFromEnv) for the algorithm it names instead
// of its usual work: cmd/load starts itself again with it
// (StartFloorServer), and with floorKeyEnv holding the public key.
const FloorServerEnv = "STEPUP_BENCH_FLOOR_SERVER"

// floorKeyEnv holds the floor server's public key: standard base64 of its
// PKIX DER. Keys are generated per process (LoadKeys), so the parent
// passes the key of the tokens it mints.
const floorKeyEnv = "STEPUP_BENCH_FLOOR_KEY"

// ServeFloorFromEnv is ServeFloor for the algorithm and key the
// environment names (FloorServerEnv, set by StartFloorServer).
func ServeFloorFromEnv(ctx context.Context, out io.Writer) error {
	der, err := base64.StdEncoding.DecodeString(os.Getenv(floorKeyEnv))
	if err != nil {
		return fmt.Errorf("bench: $%s: %w", floorKeyEnv, err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("bench: $%s: %w", floorKeyEnv, err)
	}
	return ServeFloor(ctx, os.Getenv(FloorServerEnv), pub, out)
}

// floorCaller is the JSON answer of the floor server's protected route:
// the fields and types of the answer examples/httpapi gives for a verified
// caller, with the values of Mint's tokens, encoded the same way
// (encoding/json), so that both servers pay for the same answer.
type floorCaller struct {
	Route    string   `json:"route"`
	Subject  string   `json:"sub"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	Scope    string   `json:"scope,omitempty"`
}

// floorPublic is the answer of the floor server's public route, as
// examples/httpapi answers its public route.
type floorPublic struct {
	Route  string `json:"route"`
	Public bool   `json:"public"`
}

// ServeFloor runs the floor server for alg on 127.0.0.1 until ctx is done:
// the reference that cmd/load measures beside examples/httpapi, the same
// net/http server and client load, with the verification reduced to the
// floor. GET /public answers like the example's public route; GET /profile
// reads the bearer token (one of Mint's, signed by the private key of pub)
// and runs the bare standard-library signature check on it (FloorOf: the
// signature decoded,
// the signing input hashed and verified, nothing else: no header, no
// claims, no cache), then answers 200 with a caller of the example's shape,
// or 401. It writes "floor-server: serving http://ADDR" to out once ready.
func ServeFloor(ctx context.Context, alg string, pub crypto.PublicKey, out io.Writer) error {
	if _, err := FloorOf(pub, alg, "e30.e30.AA"); err != nil {
		return err // an unknown alg, or a key of another type
	}
	answer := func(w http.ResponseWriter, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(b, '\n'))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		answer(w, floorPublic{Route: "GET /public", Public: true})
	})
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.Count(raw, ".") != 2 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		check, err := FloorOf(pub, alg, raw)
		if err != nil || !check() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		answer(w, floorCaller{Route: "GET /profile", Subject: "248289761001", ACR: "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
			AMR: []string{"pwd", "otp"}, AuthTime: time.Now().Unix(), Scope: "openid profile accounts:read transfers:write"})
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "floor-server: serving http://%s\n", lis.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-done:
		return err
	}
}

// FloorServer is a running floor server (ServeFloor) in a child process.
type FloorServer struct {
	URL string // http://127.0.0.1:PORT
	cmd *exec.Cmd
}

// StartFloorServer starts this program again as the floor server of alg
// with the public key pub (FloorServerEnv) and waits for its address. The
// program must serve it (ServeFloorFromEnv) when the variable is set, as
// cmd/load does.
func StartFloorServer(ctx context.Context, alg string, pub crypto.PublicKey) (*FloorServer, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), FloorServerEnv+"="+alg, floorKeyEnv+"="+base64.StdEncoding.EncodeToString(der))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &FloorServer{cmd: cmd}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "floor-server: serving "); ok {
				s.URL = u
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- errors.New("bench: the floor server exited before serving")
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(30 * time.Second):
		err = errors.New("bench: the floor server did not start within 30s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return s, nil
}

// CPU returns the floor server's CPU time so far (ProcessCPU).
func (s *FloorServer) CPU() (time.Duration, error) { return ProcessCPU(s.cmd.Process.Pid) }

// Close stops the floor server (SIGINT, on which ServeFloor returns and
// the program exits 0; a kill after 10 s) and waits for it.
func (s *FloorServer) Close() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		return <-done
	}
}
