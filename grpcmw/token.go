package grpcmw

import (
	"context"
	"crypto/tls"
	"errors"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/stepupauth/stepup/internal/bearer"
	"github.com/stepupauth/stepup/internal/decide"
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

// token returns the scheme and token of the incoming call: Bearer, or DPoP
// when dpop is true; "" when the call carries no credentials of those
// schemes (no authorization value, or one of another scheme). It fails on
// two authorization values or a value that is malformed by the parser
// httpmw uses too (an empty value, "Bearer" without a token, a token
// outside the b64token grammar).
func token(ctx context.Context, dpop bool) (bearer.Scheme, string, error) {
	// ValueFromIncomingContext copies one key's values, not the whole MD.
	vals := metadata.ValueFromIncomingContext(ctx, authorizationKey)
	switch len(vals) {
	case 0:
		return bearer.None, "", nil
	case 1:
		scheme, tok, ok := bearer.Credentials(vals[0], dpop)
		if !ok {
			return bearer.None, "", errMalformedBearer
		}
		return scheme, tok, nil
	default:
		return bearer.None, "", errTwoAuthorizations
	}
}

// Metadata keys of the sender constraints: the DPoP proof (RFC 9449 §7.1's
// DPoP header) and a trusted proxy's client certificate (RFC 9440's
// Client-Cert header).
const (
	dpopKey       = "dpop"
	clientCertKey = "client-cert"
	dpopNonceKey  = "dpop-nonce"
)

// sender is how the call presented its token: the DPoP proof check (the
// dpop metadata; htm POST and htu the public URL plus the full method, as
// a gRPC call is an HTTP/2 POST to that path) when it used the DPoP
// scheme, and the client certificate from the connection's TLS state or a
// trusted proxy's client-cert metadata.
// certOf is decide.Sender's Cert: the client certificate of the call
// whose context is from, from the connection's TLS state or a trusted
// proxy's client-cert metadata.
func (s *Interceptors) certOf(from any) (string, bool, error) {
	ctx := from.(context.Context)
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", false, nil
	}
	var state *tls.ConnectionState
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		state = &info.State
	}
	return s.certs.FromConn(state, p.Addr, metadata.ValueFromIncomingContext(ctx, clientCertKey))
}

func (s *Interceptors) sender(ctx context.Context, scheme bearer.Scheme, fullMethod string) decide.Sender {
	snd := decide.Sender{Cert: s.cert, From: ctx}
	if scheme == bearer.DPoP {
		snd.DPoP = true
		snd.Proof = s.dpop.Proof(metadata.ValueFromIncomingContext(ctx, dpopKey), "POST", fullMethod)
	}
	return snd
}
