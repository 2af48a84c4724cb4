package grpcmw

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", false},
		{"bearer abc", "abc", false},
		{"BEARER abc", "abc", false},
		{"bEaReR abc", "abc", false},
		{"Bearer   abc", "abc", false},
		{" Bearer abc\t", "abc", false},
		{"Bearer a-b_c~d+e/f==", "a-b_c~d+e/f==", false},
		{"Bearer", "", true},
		{"Bearer ", "", true},
		{"Bearer  ", "", true},
		{"Bearer a b", "", true},
		{"Bearer a=b", "", true},
		{"Bearer ==", "", true},
		{"Bearer \"abc\"", "", true},
		{"Bearer\tabc", "", true},
		{"Bearer,abc", "", true},
		{"Bearer abc\x00", "", true},
		{"Bearer ab\u00e9", "", true},
		{"Basic dXNlcjpwYXNz", "", false},
		{"DPoP abc", "", false},
		{"BearerX abc", "", false},
		{"Bearer-abc", "", false},
		{"", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		got, err := parseBearer(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseBearer(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		md      metadata.MD
		want    string
		wantErr error
	}{
		{"no metadata", nil, "", nil},
		{"no authorization", metadata.Pairs("x", "y"), "", nil},
		{"one", metadata.Pairs("authorization", "Bearer t1"), "t1", nil},
		{"two", metadata.Pairs("authorization", "Bearer t1", "authorization", "Bearer t2"), "", errTwoAuthorizations},
		{"two of other schemes", metadata.Pairs("authorization", "Basic a", "authorization", "Basic b"), "", errTwoAuthorizations},
		{"malformed", metadata.Pairs("authorization", "Bearer a b"), "", errMalformedBearer},
	}
	for _, tt := range tests {
		ctx := context.Background()
		if tt.md != nil {
			ctx = metadata.NewIncomingContext(ctx, tt.md)
		}
		got, err := bearerToken(ctx)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: bearerToken = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzParseBearer checks that any value parses without a panic, and that a
// token, when found, is b64token syntax taken verbatim from the value.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Bearer", "Basic x", "Bearer a b", " BEARER x== ", "Bearer\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := parseBearer(v)
		if err != nil && tok != "" {
			t.Fatalf("parseBearer(%q) = %q with error %v", v, tok, err)
		}
		if tok == "" {
			return
		}
		if !isB64Token(tok) || !strings.HasSuffix(trimOWS(v), tok) || !strings.EqualFold(trimOWS(v)[:6], "bearer") {
			t.Fatalf("parseBearer(%q) = %q, not a b64token of a Bearer value", v, tok)
		}
	})
}
