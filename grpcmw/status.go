package grpcmw

import (
	"context"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/stepupclient"
)

// WWWAuthenticateKey is the response header metadata key that carries the
// challenge, rendered exactly as the HTTP WWW-Authenticate header value
// (claims.Challenge.String).
const WWWAuthenticateKey = "www-authenticate"

// ErrorDomain is the Domain of the google.rpc.ErrorInfo details the server
// interceptors attach. The client side reads only ErrorInfo of this domain.
const ErrorDomain = "stepup"

// ErrorInfo reasons, one per OAuth error code (RFC 6750 §3.1, RFC 9470 §3).
// A call without a token gets no ErrorInfo: as in HTTP, its challenge has no
// error code.
const (
	reasonInvalidRequest                 = "INVALID_REQUEST"
	reasonInvalidToken                   = "INVALID_TOKEN"
	reasonInsufficientUserAuthentication = "INSUFFICIENT_USER_AUTHENTICATION"
	reasonInsufficientScope              = "INSUFFICIENT_SCOPE"
	// reasonInsufficientClaims goes with Microsoft Entra ID's
	// insufficient_claims claims challenge (claims.CodeInsufficientClaims,
	// not a registered OAuth code): the status is Unauthenticated and the
	// metadata carries claims and authorizationUri.
	reasonInsufficientClaims = "INSUFFICIENT_CLAIMS"
	// The DPoP codes (RFC 9449 §7.1, §9).
	reasonInvalidDPoPProof = "INVALID_DPOP_PROOF"
	reasonUseDPoPNonce     = "USE_DPOP_NONCE"
)

// ErrorInfo metadata keys. Values: acr_values and scope space-separated,
// max_age decimal seconds. A key is present only when the challenge has the
// parameter.
const (
	metadataACRValues = "acrValues"
	metadataMaxAge    = "maxAge"
	metadataScope     = "scope"
	// metadataClaims and metadataAuthorizationURI carry the claims
	// (base64 claims request) and authorization_uri of an Entra ID claims
	// challenge, reason reasonInsufficientClaims.
	metadataClaims           = "claims"
	metadataAuthorizationURI = "authorizationUri"
)

// Fixed status messages of the answers without a challenge.
const (
	msgUnavailable = "grpcmw: token verification is temporarily unavailable"
	msgUnlisted    = "grpcmw: method not allowed"
	msgInternal    = "grpcmw: authorization failed"
)

var reasons = map[claims.Code]string{
	claims.CodeInvalidRequest:                 reasonInvalidRequest,
	claims.CodeInvalidToken:                   reasonInvalidToken,
	claims.CodeInsufficientUserAuthentication: reasonInsufficientUserAuthentication,
	claims.CodeInsufficientScope:              reasonInsufficientScope,
	claims.CodeInsufficientClaims:             reasonInsufficientClaims,
	claims.CodeInvalidDPoPProof:               reasonInvalidDPoPProof,
	claims.CodeUseDPoPNonce:                   reasonUseDPoPNonce,
}

var codesByReason = map[string]claims.Code{
	reasonInvalidRequest:                 claims.CodeInvalidRequest,
	reasonInvalidToken:                   claims.CodeInvalidToken,
	reasonInsufficientUserAuthentication: claims.CodeInsufficientUserAuthentication,
	reasonInsufficientScope:              claims.CodeInsufficientScope,
	reasonInsufficientClaims:             claims.CodeInsufficientClaims,
	reasonInvalidDPoPProof:               claims.CodeInvalidDPoPProof,
	reasonUseDPoPNonce:                   claims.CodeUseDPoPNonce,
}

// extraMetadata maps the challenge parameters of an Entra ID claims
// challenge to their ErrorInfo metadata keys.
var extraMetadata = map[string]string{
	"claims":            metadataClaims,
	"authorization_uri": metadataAuthorizationURI,
}

// grpcCode maps an OAuth error code to the gRPC code of the package
// documentation's answer table, by the
// one table httpmw uses for HTTP statuses: a code the library does not
// know is Unauthenticated, as it is 401 over HTTP.
func grpcCode(c claims.Code) codes.Code {
	switch answer.For(c) {
	case answer.BadRequest:
		return codes.InvalidArgument
	case answer.Forbidden:
		return codes.PermissionDenied
	default:
		return codes.Unauthenticated
	}
}

// rejection is the answer to a refused call: the status, the challenge
// to send as www-authenticate header metadata ("" for none) and the
// dpop-nonce to send with a use_dpop_nonce refusal ("" for none).
type rejection struct {
	st        *status.Status
	challenge string
	nonce     string
}

// metadata is the response metadata of r: www-authenticate and
// dpop-nonce.
func (r *rejection) metadata() metadata.MD {
	md := metadata.Pairs(WWWAuthenticateKey, r.challenge)
	if r.nonce != "" {
		md.Append(dpopNonceKey, r.nonce)
	}
	return md
}

// reject turns an authorization error into the client's answer, by the
// classification every transport shares (decide.Outcome). The error text
// never reaches the client: statuses carry fixed messages and the
// challenge, built from the fixed Description.
func (o *options) reject(ctx context.Context, err error) rejection {
	k, ce := decide.Outcome(ctx, err)
	switch k {
	case decide.Canceled:
		return rejection{st: status.FromContextError(ctx.Err())}
	case decide.Unavailable:
		return rejection{st: status.New(codes.Unavailable, msgUnavailable)}
	case decide.Internal:
		return rejection{st: status.New(codes.Internal, msgInternal)}
	}
	ch := answer.Challenge(ce, o.realm, o.resourceMetadata)
	algs := ""
	if o.dpop != nil {
		algs = o.dpop.Algs
	}
	msg := answer.Header(ce, o.realm, o.resourceMetadata, algs)
	st := status.New(grpcCode(ce.Code), msg)
	if reason, ok := reasons[ce.Code]; ok {
		if d, derr := st.WithDetails(errorInfo(reason, ce, ch)); derr == nil {
			st = d
		}
	}
	return rejection{st: st, challenge: msg, nonce: decide.Nonce(err)}
}

func errorInfo(reason string, ce *claims.Error, ch claims.Challenge) *errdetails.ErrorInfo {
	md := make(map[string]string, 3)
	if len(ch.ACRValues) > 0 {
		md[metadataACRValues] = strings.Join(ch.ACRValues, " ")
	}
	if secs, ok := ce.MaxAge.Seconds(); ok {
		md[metadataMaxAge] = strconv.FormatInt(secs, 10)
	}
	if len(ch.Scope) > 0 {
		md[metadataScope] = strings.Join(ch.Scope, " ")
	}
	if reason == reasonInsufficientClaims {
		for _, p := range ch.Extra {
			if key, ok := extraMetadata[strings.ToLower(p.Name)]; ok {
				md[key] = p.Value
			}
		}
	}
	return &errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain, Metadata: md}
}

// ErrorFromStatus returns the *claims.Error that a status from the server
// interceptors stands for, or nil when st is not such a rejection. md is the
// response metadata (header and trailer, see metadata.Join); its
// www-authenticate challenge is preferred, the ErrorInfo details of
// ErrorDomain are the fallback. The returned error's Err is st.Err(), so
// status.Code still works on it.
//
// The www-authenticate values are read with stepupclient.ParseRefusal
// (claims.ParseChallenges), within
// its limits (65536 bytes all values together, each
// value counting one byte more, so many empty values are bounded too):
// values it refuses, for a syntax error or for their size, are ignored and
// the details used, so a server cannot make a client parse more than that.
//
// Only Unauthenticated, PermissionDenied and InvalidArgument statuses are
// considered; an Unavailable key outage is left to the caller as the plain
// status it is.
func ErrorFromStatus(st *status.Status, md metadata.MD) *claims.Error {
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
	default:
		return nil
	}
	if vals := md.Get(WWWAuthenticateKey); len(vals) > 0 {
		// The Bearer or DPoP challenge, the one with an error code when
		// there are both (the server names the scheme it refused): the
		// reading of an HTTP client's Transport.
		if ce, err := stepupclient.ParseRefusal(vals...); err == nil && ce != nil {
			ce.Err = st.Err()
			return ce
		}
	}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != ErrorDomain {
			continue
		}
		code, ok := codesByReason[info.GetReason()]
		if !ok {
			continue
		}
		ce := &claims.Error{Code: code, Err: st.Err()}
		m := info.GetMetadata()
		ce.ACRValues = strings.Fields(m[metadataACRValues])
		ce.Scope = strings.Fields(m[metadataScope])
		if s, ok := m[metadataMaxAge]; ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n <= maxSeconds {
				ce.MaxAge = claims.MaxAgeOf(time.Duration(n) * time.Second)
			}
		}
		if len(ce.ACRValues) == 0 {
			ce.ACRValues = nil
		}
		if len(ce.Scope) == 0 {
			ce.Scope = nil
		}
		if code == claims.CodeInsufficientClaims {
			for _, name := range []string{"authorization_uri", "claims"} {
				if v, ok := m[extraMetadata[name]]; ok {
					ce.Extra = append(ce.Extra, claims.Param{Name: name, Value: v})
				}
			}
		}
		return ce
	}
	return nil
}

// maxSeconds bounds max_age so that its Duration does not overflow.
const maxSeconds = int64(1<<63-1) / int64(time.Second)

var statusUnlisted = status.New(codes.PermissionDenied, msgUnlisted)
