package app

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
)

// devDPoPAlgorithms are the algorithms stepuptest.NewDPoPKey can make keys
// for, the preferred first.
var devDPoPAlgorithms = []string{"ES256", "EdDSA", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}

// devDPoPAlgorithm returns the alg of the -dev DPoP key: the first of the
// dpop block's algorithms that stepuptest can sign with, else ES256.
func devDPoPAlgorithm(algs []string) string {
	for _, a := range algs {
		if slices.Contains(devDPoPAlgorithms, a) {
			return a
		}
	}
	return "ES256"
}

// DevRequest is a request to print a ready DPoP proof for: an HTTP method
// and path, or POST and a gRPC full method.
type DevRequest struct {
	Method string
	Path   string // from the root: "/transfer", "/bank.v1.Bank/Transfer"
}

// DevProof is a proof DevDPoP signed, for a shell variable.
type DevProof struct {
	Var    string // shell variable name, such as DPOP_PROOF_TRANSFER
	Method string // htm
	URL    string // htu: the dpop block's public_url and the request's path
	Proof  string
}

// DevDPoP is what -dev prints for a policy with a dpop block: the client
// key, a token bound to it and ready proofs.
type DevDPoP struct {
	Key       *stepuptest.DPoPKey
	Token     DevToken // DPOP_TOKEN, bound to Key (cnf.jkt)
	PublicURL string   // the dpop block's public_url
	MaxAge    time.Duration
	Nonce     bool // the proofs carry the server's current nonce
	Proofs    []DevProof
}

// DevDPoP mints, with the dev issuer, a token bound to DevKey (cnf.jkt) at
// the level the policy's DPoP rules ask for, granting scopes, and signs a
// proof for it per request. It returns nil without -dev or without a dpop
// block.
func (a *App) DevDPoP(scopes []string, reqs []DevRequest) (*DevDPoP, error) {
	p := a.Policy
	if a.Dev == nil || a.DevKey == nil || p.DPoP == nil {
		return nil, nil
	}
	acr := devDPoPACR(p, a.Dev.ACRValues())
	amr, _ := a.Dev.AMR(acr)
	t := stepuptest.Token{
		ACR:      acr,
		AMR:      amr,
		AuthTime: time.Now(),
		Scopes:   scopes,
		Claims:   map[string]any{"cnf": map[string]any{"jkt": a.DevKey.JKT()}},
	}
	// The token endpoint's logins pass through this hook; a minted token
	// must too, to fit the policy's claim names and provider.
	if hook := devLoginHook(p); hook != nil {
		hook(&t)
	}
	tok, err := a.Dev.Mint(t)
	if err != nil {
		return nil, fmt.Errorf("minting the DPoP-bound token: %w", err)
	}
	d := &DevDPoP{
		Key:       a.DevKey,
		Token:     DevToken{Var: "DPOP_TOKEN", ACR: acr, AMR: amr, Token: tok},
		PublicURL: strings.TrimSuffix(p.DPoP.PublicURL, "/"),
		MaxAge:    p.DPoP.MaxAge,
		Nonce:     a.nonces != nil,
	}
	if d.MaxAge == 0 {
		d.MaxAge = dpop.DefaultMaxAge
	}
	nonce := ""
	if a.nonces != nil {
		nonce = a.nonces.Issue()
	}
	seen := map[string]bool{}
	for i, r := range reqs {
		name := devProofVar(r.Path)
		if seen[name] {
			name = fmt.Sprintf("%s_%d", name, i+1)
		}
		seen[name] = true
		url := d.PublicURL + r.Path
		proof, err := a.DevKey.Proof(stepuptest.DPoPProof{Method: r.Method, URL: url, AccessToken: tok, Nonce: nonce})
		if err != nil {
			return nil, err
		}
		d.Proofs = append(d.Proofs, DevProof{Var: name, Method: r.Method, URL: url, Proof: proof})
	}
	return d, nil
}

// devDPoPACR returns the acr of the -dev DPoP-bound token: the first acr a
// rule demanding a DPoP-bound token asks for (acr, acr_min or acr_values)
// that the issuer supports, else the issuer's strongest built-in level it
// supports, else its first.
func devDPoPACR(p *policy.Policy, supported []string) string {
	for _, r := range p.Rules {
		q := r.Requirement
		if q.Binding != claims.BindingDPoP && q.Binding != claims.BindingAny {
			continue
		}
		wants := append(append(slices.Clone(q.ACR), q.ACRMin), q.AMRACRValues...)
		wants = append(wants, r.AuthContext...)
		for _, v := range wants {
			if slices.Contains(supported, v) {
				return v
			}
		}
	}
	for _, v := range []string{claims.ACRMultiFactor, stepuptest.ACRPassword} {
		if slices.Contains(supported, v) {
			return v
		}
	}
	if len(supported) == 0 {
		return ""
	}
	return supported[0]
}

// devProofVar names the proof variable of a path after its last segment:
// DPOP_PROOF_TRANSFER for "/transfer" and "/bank.v1.Bank/Transfer".
func devProofVar(path string) string {
	seg := path[strings.LastIndexByte(path, '/')+1:]
	var b strings.Builder
	b.WriteString("DPOP_PROOF")
	if seg != "" {
		b.WriteByte('_')
	}
	for _, r := range strings.ToUpper(seg) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// PrintDevDPoP writes the DPoP part of the -dev output: the key as a
// private JWK, the bound token and the proofs as shell exports, and what a
// proof is good for.
func PrintDevDPoP(w io.Writer, d *DevDPoP) {
	fmt.Fprintf(w, "# DPoP (RFC 9449): DPOP_TOKEN (acr %s, amr [%s]) is bound to the key DPOP_KEY (cnf.jkt %s).\n",
		d.Token.ACR, strings.Join(d.Token.AMR, " "), d.Key.JKT())
	fmt.Fprintf(w, "# Send it as \"Authorization: DPoP $DPOP_TOKEN\" with a proof in the DPoP header (as Bearer it is refused).\n")
	fmt.Fprintf(w, "# A proof names the method and %s plus the path (the policy's public_url, whatever address you use),\n", d.PublicURL)
	fmt.Fprintf(w, "# is single-use and valid for %s (max_age) from now", d.MaxAge)
	if d.Nonce {
		fmt.Fprintf(w, "; these carry the server's current nonce (a new one comes in the DPoP-Nonce header of a refusal)")
	}
	fmt.Fprintf(w, ".\n# Sign more with DPOP_KEY, a private JWK (alg %s).\n", d.Key.Algorithm())
	fmt.Fprintf(w, "export DPOP_KEY='%s'\n", d.Key.PrivateJWK())
	fmt.Fprintf(w, "export %s='%s'\n", d.Token.Var, d.Token.Token)
	for _, p := range d.Proofs {
		fmt.Fprintf(w, "# proof for %s %s\nexport %s='%s'\n", p.Method, p.URL, p.Var, p.Proof)
	}
}
