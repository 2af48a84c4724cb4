// Package apptest holds the helpers the example commands' tests share: a
// synchronized output buffer, policy files, the -dev exports, and building
// a command and running it as a process (StartCommand, Terminate) for the
// signal-shutdown tests.
package apptest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
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
