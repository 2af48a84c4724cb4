package grpcmw

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/metadata"
)

// The Authorization grammar itself is tested in internal/bearer, and the
// wire answers of both transports side by side in internal/conformance.

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
		{"other scheme", metadata.Pairs("authorization", "Basic dXNlcg=="), "", nil},
		{"two", metadata.Pairs("authorization", "Bearer t1", "authorization", "Bearer t2"), "", errTwoAuthorizations},
		{"two of other schemes", metadata.Pairs("authorization", "Basic a", "authorization", "Basic b"), "", errTwoAuthorizations},
		{"malformed", metadata.Pairs("authorization", "Bearer a b"), "", errMalformedBearer},
		{"empty", metadata.Pairs("authorization", ""), "", errMalformedBearer},
	}
	for _, tt := range tests {
		ctx := context.Background()
		if tt.md != nil {
			ctx = metadata.NewIncomingContext(ctx, tt.md)
		}
		_, got, err := token(ctx, false)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: bearerToken = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}
