package decide

import (
	"context"
	"errors"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
)

// Client-safe descriptions of the DPoP refusals (RFC 9449 §7.1, §9).
const (
	descInvalidProof = "The DPoP proof is invalid"
	descUseNonce     = "Resource server requires nonce in DPoP proof"
)

// Causes of a DPoP refusal the transport finds before the proof verifier.
var (
	errNoProof    = errors.New("dpop: no DPoP header")
	errManyProofs = errors.New("dpop: more than one DPoP header")
)

// DPoP is a transport's DPoP configuration: the proof verifier and the
// public URL of the server, the prefix of every htu (RFC 9449 §4.3 step 9).
type DPoP struct {
	Verifier  *dpop.Verifier
	PublicURL string // scheme://host[:port][/prefix], no trailing slash
	Algs      string // the verifier's algorithms, space-separated, for the challenge
}

// NewDPoP checks publicURL and returns the configuration, nil for a nil v.
func NewDPoP(v *dpop.Verifier, publicURL string) *DPoP {
	if v == nil {
		return nil
	}
	return &DPoP{Verifier: v, PublicURL: strings.TrimSuffix(publicURL, "/"), Algs: strings.Join(v.Algorithms(), " ")}
}

// Proof returns the Sender.Proof of a request whose DPoP header values are
// proofs, whose method is method and whose path (escaped, from the root,
// or a gRPC full method) is path: exactly one proof, checked by the
// verifier against the public URL plus path, its refusals turned into the
// *claims.Error the client gets (ProofError).
func (d *DPoP) Proof(proofs []string, method, path string) func(ctx context.Context, token string) (string, error) {
	return func(ctx context.Context, token string) (string, error) {
		switch len(proofs) {
		case 0:
			return "", proofError(&dpop.Error{Code: claims.CodeInvalidDPoPProof, Reason: dpop.ReasonMalformed, Err: errNoProof})
		case 1:
		default:
			return "", proofError(&dpop.Error{Code: claims.CodeInvalidDPoPProof, Reason: dpop.ReasonMultiple, Err: errManyProofs})
		}
		p, err := d.Verifier.Verify(ctx, proofs[0], dpop.Request{Method: method, URL: d.PublicURL + path, AccessToken: token})
		if err != nil {
			return "", proofError(err)
		}
		return p.JKT, nil
	}
}

// proofError turns a *dpop.Error into the *claims.Error of the DPoP
// scheme that answers it, keeping it as the cause (for its Nonce, and for
// logs); other errors (an outage of the replay store, a context error) are
// returned as they are.
func proofError(err error) error {
	var de *dpop.Error
	if !errors.As(err, &de) {
		return err
	}
	ce := &claims.Error{Scheme: "DPoP", Code: claims.CodeInvalidDPoPProof, Description: descInvalidProof, Err: err}
	if de.Code == claims.CodeUseDPoPNonce {
		ce.Code, ce.Description = claims.CodeUseDPoPNonce, descUseNonce
	}
	return ce
}

// Nonce returns the DPoP-Nonce a refusal must send (RFC 9449 §9), "" for
// none.
func Nonce(err error) string {
	var de *dpop.Error
	if errors.As(err, &de) && de.Code == claims.CodeUseDPoPNonce {
		return de.Nonce
	}
	return ""
}
