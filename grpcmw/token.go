package grpcmw

import (
	"context"
	"errors"

	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/internal/bearer"
)

// Causes wrapped in the invalid_request error; they reach the error hook,
// never the client.
var (
	errTwoAuthorizations = errors.New("grpcmw: more than one authorization metadata value")
	errMalformedBearer   = errors.New("grpcmw: malformed bearer credentials")
)

// authorizationKey is the metadata key of the credentials (RFC 6750 §2.1,
// carried as the HTTP/2 authorization header).
const authorizationKey = "authorization"

// bearerToken returns the bearer token of the incoming call, "" when the
// call carries no bearer credentials (no authorization value, or one of
// another scheme). It fails on two authorization values or a value that is
// malformed by the parser httpmw uses too (an empty value, "Bearer" without
// a token, a token outside the b64token grammar).
func bearerToken(ctx context.Context) (string, error) {
	// ValueFromIncomingContext copies one key's values, not the whole MD.
	vals := metadata.ValueFromIncomingContext(ctx, authorizationKey)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		tok, ok := bearer.Parse(vals[0])
		if !ok {
			return "", errMalformedBearer
		}
		return tok, nil
	default:
		return "", errTwoAuthorizations
	}
}
