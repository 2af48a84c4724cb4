// Package apptest holds the helpers the example commands' tests share: a
// synchronized output buffer, policy files, the -dev exports, and building
// a command and running it as a process (StartCommand, Terminate) for the
// signal-shutdown tests, and signing a DPoP proof with the printed key.
package apptest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Buffer is a bytes.Buffer safe for concurrent writes and reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WritePolicy writes a policy document to a file in a test temporary
// directory and returns its path.
func WritePolicy(t testing.TB, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var exportLine = regexp.MustCompile(`(?m)^export ([A-Z0-9_]+)='([^']+)'$`)

// Exports returns the shell exports (NAME='value') of the -dev output.
func Exports(out string) map[string]string {
	m := map[string]string{}
	for _, sub := range exportLine.FindAllStringSubmatch(out, -1) {
		m[sub[1]] = sub[2]
	}
	return m
}

// Proof signs a DPoP proof (RFC 9449 §4.2) for method, url and token with
// the private JWK that -dev prints as DPOP_KEY, as a client holding only
// that JWK would.
func Proof(t testing.TB, privateJWK, method, url, token string) string {
	t.Helper()
	key, err := jwk.ParseKey([]byte(privateJWK))
	if err != nil {
		t.Fatalf("DPOP_KEY: %v", err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	alg, ok := key.Algorithm()
	if !ok {
		t.Fatal("DPOP_KEY has no alg")
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg.String())
	if !ok {
		t.Fatalf("DPOP_KEY alg %q", alg)
	}
	h := jws.NewHeaders()
	for k, v := range map[string]any{"typ": "dpop+jwt", "jwk": pub} {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte(token))
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	payload, err := json.Marshal(map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]), "htm": method, "htu": url,
		"iat": time.Now().Unix(), "ath": base64.RawURLEncoding.EncodeToString(sum[:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.Sign(payload, jws.WithKey(sa, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
