package dpop

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/jsonscan"
)

// Defaults of Config.
const (
	// DefaultMaxAge is Config.MaxAge when zero. A client makes a proof
	// for each request (RFC 9449 §4.1), so a genuine one is as old as the
	// network delay plus the lag of a slow client clock; RFC 9449 §11.1
	// asks for "a relatively brief period on the order of seconds or
	// minutes". A minute absorbs both, keeps the window in which a
	// captured proof can be replayed to an instance with its own store
	// short, and keeps a replay store at about 65 s of traffic.
	DefaultMaxAge = 60 * time.Second
	// defaultLeeway is Config.Leeway when zero: the clock skew allowed for
	// an iat in the future (RFC 9449 §11.1 allows "the reasonably near
	// future").
	defaultLeeway = 5 * time.Second
	// maxProofSize is the longest proof accepted, in bytes, checked before
	// any decoding. An RSA-8192 proof, the largest key accepted, is about
	// 3.5 KiB.
	maxProofSize = 8 << 10
	// maxIDLen bounds jti, in bytes (RFC 9449 §11.1: refuse "unnecessarily
	// large jti values"). 96 random bits (§4.2) are 16 base64url
	// characters; a UUID is 36.
	maxIDLen = 256
	// defaultStoreRate is the proof rate the default MemoryStore is sized
	// for, per second.
	defaultStoreRate = 1000
)

// Config is the security-relevant configuration of a Verifier, checked
// once by New. The zero Config is usable: the default algorithms, MaxAge
// and Leeway, an in-memory replay store and no nonce.
type Config struct {
	// Algorithms are the accepted proof alg values. Empty means ES256,
	// ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, EdDSA and
	// Ed25519. "none" and the symmetric HS256/384/512 are configuration
	// errors (RFC 9449 §4.2, §11.6), as is any alg not in that list.
	Algorithms []string
	// MaxAge is how far in the past a proof's iat may be. Zero means
	// DefaultMaxAge; negative is an error.
	MaxAge time.Duration
	// Leeway is the clock skew allowed for an iat in the future, and added
	// to MaxAge for one in the past. Zero means defaultLeeway; negative is
	// an error.
	Leeway time.Duration
	// NoLeeway allows no clock skew at all. Leeway must then be zero.
	NoLeeway bool
	// Replay remembers used jti values. Nil means a new MemoryStore sized
	// for 1000 proofs a second over MaxAge+Leeway: enough for one
	// instance; a fleet behind one URI needs a shared store.
	Replay ReplayStore
	// Nonces, when set, makes every proof carry a nonce it issued (RFC 9449
	// §9). Nil: the server demands no nonce, and a nonce claim is ignored.
	Nonces *Nonces
	// Now is the clock of the Verifier, of its Nonces and of a MemoryStore
	// given as Replay. Nil means time.Now.
	Now func() time.Time
}

// Verifier checks DPoP proofs (RFC 9449 §4.3) for a resource server. It is
// safe for concurrent use.
type Verifier struct {
	algs     map[string]*algInfo
	algList  []string
	maxAge   time.Duration
	leeway   time.Duration
	replay   ReplayStore
	nonces   *Nonces
	now      func() time.Time
	maxStore int // entries of the default MemoryStore, for tests
}

// New returns a Verifier for cfg. The error wraps ErrConfig and says how to
// fix cfg.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{maxAge: cfg.MaxAge, leeway: cfg.Leeway, replay: cfg.Replay, nonces: cfg.Nonces, now: cfg.Now}
	switch {
	case v.maxAge < 0:
		return nil, fmt.Errorf("%w: negative MaxAge; zero means the default %v", ErrConfig, DefaultMaxAge)
	case v.maxAge == 0:
		v.maxAge = DefaultMaxAge
	}
	switch {
	case v.leeway < 0:
		return nil, fmt.Errorf("%w: negative Leeway; set NoLeeway to allow no clock skew", ErrConfig)
	case cfg.NoLeeway && v.leeway != 0:
		return nil, fmt.Errorf("%w: Leeway is %v with NoLeeway set; set one of them", ErrConfig, v.leeway)
	case cfg.NoLeeway:
	case v.leeway == 0:
		v.leeway = defaultLeeway
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = defaultAlgorithms
	}
	v.algs = make(map[string]*algInfo, len(algs))
	for _, a := range algs {
		info := knownAlgs[a]
		if info == nil {
			switch {
			case strings.EqualFold(a, "none"):
				return nil, fmt.Errorf("%w: alg %q in Algorithms: an unsigned proof proves nothing (RFC 9449 §11.6)", ErrConfig, a)
			case strings.HasPrefix(strings.ToUpper(a), "HS"):
				return nil, fmt.Errorf("%w: alg %q in Algorithms: a proof needs an asymmetric signature (RFC 9449 §4.2)", ErrConfig, a)
			}
			return nil, fmt.Errorf("%w: unknown alg %q in Algorithms; use some of %s", ErrConfig, a, strings.Join(defaultAlgorithms, ", "))
		}
		if v.algs[a] == nil {
			v.algs[a] = info
			v.algList = append(v.algList, a)
		}
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		window := v.maxAge + v.leeway
		v.maxStore = defaultStoreRate * int((window+time.Second-1)/time.Second) * 5 / 4
		v.replay = NewMemoryStore(v.maxStore)
	}
	if m, ok := v.replay.(*MemoryStore); ok {
		m.setClock(v.now)
	}
	if v.nonces != nil {
		v.nonces.setClock(v.now)
	}
	return v, nil
}

// Algorithms returns the accepted algs, in the order configured, for the
// algs parameter of a DPoP challenge (RFC 9449 §7.1). The slice is a copy.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algList) }

// Request is what a proof must match.
type Request struct {
	// Method is the HTTP method (htm), compared case-sensitively (RFC
	// 9110 §9.1).
	Method string
	// URL is the absolute target URI the client used (htu), as the server
	// knows it: a configured public base URL and the request's path, never
	// the Host header alone. Its query and fragment are ignored; it and the
	// htu are compared after RFC 3986 §6.2.2 and §6.2.3 normalisation (RFC
	// 9449 §4.3).
	URL string
	// AccessToken is the access token presented with the proof: the
	// proof's ath must be its base64url SHA-256 (RFC 9449 §4.2).
	AccessToken string
}

// Proof is a verified proof.
type Proof struct {
	// JKT is the base64url (no padding) SHA-256 JWK thumbprint (RFC 7638)
	// of the proof's jwk. The caller must compare it with the access
	// token's cnf.jkt (RFC 9449 §6.1, §4.3 step 12).
	JKT string
	// ID is the jti.
	ID string
	// IssuedAt is the iat.
	IssuedAt time.Time
}

// claimSet holds the claims of a proof (RFC 9449 §4.2).
type claimSet struct {
	jti, htm, htu, ath, nonce string
	hasJTI, hasHTM, hasHTU    bool
	hasIAT, hasATH, hasNonce  bool
	iat                       time.Time
}

// Verify checks proof, the value of the request's one DPoP header field,
// against req, by every rule of RFC 9449 §4.3 (see the package doc for the
// rules and their order), and returns it when it is valid. Only a proof
// that passes every other check consumes its jti in the replay store.
//
// A refused proof is an *Error. When the replay store cannot answer
// (an outage, or a full MemoryStore), the error wraps claims.ErrUnavailable
// and is not an *Error: answer 503, never 401. When ctx ends while the store
// answers, the error wraps ctx.Err() only. A Request that is unusable (no
// Method, no AccessToken, a URL that is not an absolute http or https URI)
// is the caller's bug: the error wraps ErrRequest.
func (v *Verifier) Verify(ctx context.Context, proof string, req Request) (Proof, error) {
	if req.Method == "" || req.AccessToken == "" {
		return Proof{}, fmt.Errorf("%w: empty Method or AccessToken", ErrRequest)
	}
	reqURI, ok := normalizeURI(req.URL, true)
	if !ok {
		return Proof{}, fmt.Errorf("%w: URL is not an absolute http or https URI", ErrRequest)
	}
	now := v.now() // one reading of the clock for every check
	p, cs, rej := v.check(proof, req, reqURI, now)
	if rej != nil {
		return Proof{}, rej
	}
	if v.nonces != nil && (!cs.hasNonce || !v.nonces.valid(cs.nonce, now)) {
		return Proof{}, &Error{Code: claims.CodeUseDPoPNonce, Reason: ReasonNonce, Nonce: v.nonces.issue(now),
			Err: errors.New("nonce missing or stale")}
	}
	fresh, err := v.replay.Use(ctx, p.JKT+":"+p.ID, p.IssuedAt.Add(v.maxAge+v.leeway))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return Proof{}, fmt.Errorf("dpop: replay store: %w", cerr)
		}
		if errors.Is(err, claims.ErrUnavailable) {
			return Proof{}, fmt.Errorf("dpop: replay store: %w", err)
		}
		return Proof{}, fmt.Errorf("dpop: replay store: %w: %w", claims.ErrUnavailable, err)
	}
	if !fresh {
		return Proof{}, refuse(ReasonReplay, errors.New("jti already used"))
	}
	return p, nil
}

// check runs every check but the nonce and the replay store.
func (v *Verifier) check(proof string, req Request, reqURI string, now time.Time) (Proof, *claimSet, *Error) {
	// One value of compact JWS (RFC 9449 §4.3 steps 1, 2): size first,
	// then the characters, so nothing is decoded from a list or a JWE.
	if len(proof) > maxProofSize {
		return Proof{}, nil, refuse(ReasonSize, errors.New("proof longer than the size cap"))
	}
	dots := 0
	for i := 0; i < len(proof); i++ {
		switch c := proof[i]; {
		case c == '.':
			dots++
		case c == ',' || c == ' ' || c == '\t':
			return Proof{}, nil, refuse(ReasonMultiple, errors.New("more than one value in the DPoP field"))
		case !b64Byte[c]:
			return Proof{}, nil, refuse(ReasonMalformed, errForm)
		}
	}
	if dots != 2 {
		return Proof{}, nil, refuse(ReasonMalformed, errForm)
	}
	hdr, payload, sig, input, ok := splitCompact(proof)
	if !ok {
		return Proof{}, nil, refuse(ReasonMalformed, errForm)
	}
	// Header: typ, alg, jwk (steps 4, 5, 7).
	alg, key, jkt, rej := parseHeader(hdr, v.algs)
	if rej != nil {
		return Proof{}, nil, rej
	}
	// Claims (step 3), then the cheap comparisons (steps 8, 9, 11, 12).
	cs, rej := parseClaims(payload)
	if rej != nil {
		return Proof{}, nil, rej
	}
	if cs.htm != req.Method {
		return Proof{}, nil, refuse(ReasonMethod, errors.New("htm is not the request's method"))
	}
	htu, ok := normalizeURI(cs.htu, false)
	if !ok || htu != reqURI {
		return Proof{}, nil, refuse(ReasonURI, errors.New("htu is not the request's uri"))
	}
	if cs.iat.Before(now.Add(-v.maxAge - v.leeway)) {
		return Proof{}, nil, refuse(ReasonIssuedAt, errors.New("iat too old"))
	}
	if cs.iat.After(now.Add(v.leeway)) {
		return Proof{}, nil, refuse(ReasonIssuedAt, errors.New("iat in the future"))
	}
	if cs.ath != tokenHash(req.AccessToken) {
		return Proof{}, nil, refuse(ReasonTokenHash, errors.New("ath is not the hash of the access token"))
	}
	// The signature, with the key of jwk only (step 6).
	if err := verifySignature(alg, key, input, sig); err != nil {
		return Proof{}, nil, refuse(ReasonSignature, err)
	}
	return Proof{JKT: jkt, ID: cs.jti, IssuedAt: cs.iat}, cs, nil
}

// b64Byte holds the base64url alphabet and the dot.
var b64Byte = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_." {
		t[c] = true
	}
	return t
}()

// parseClaims reads the claim set of a proof: one strict JSON object
// without duplicate members; jti, htm, htu, ath and nonce strings, iat a
// NumericDate; jti, htm, htu, iat and ath required (RFC 9449 §4.2; ath
// because a resource server always gets an access token with the proof).
// Other claims are ignored (§4.2 allows them).
func parseClaims(b []byte) (*claimSet, *Error) {
	cs := new(claimSet)
	var rej *Error
	err := members(b, func(name string, m jsonscan.Member) error {
		var dst *string
		var has *bool
		reason := ReasonMalformed
		switch name {
		case "jti":
			dst, has, reason = &cs.jti, &cs.hasJTI, ReasonID
		case "htm":
			dst, has, reason = &cs.htm, &cs.hasHTM, ReasonMethod
		case "htu":
			dst, has, reason = &cs.htu, &cs.hasHTU, ReasonURI
		case "ath":
			dst, has, reason = &cs.ath, &cs.hasATH, ReasonTokenHash
		case "nonce":
			dst, has = &cs.nonce, &cs.hasNonce
		case "iat":
			t, ok := numericDate(b[m.Value.Start:m.Value.End])
			if !ok {
				rej = refuse(ReasonIssuedAt, errors.New("iat is not a numeric date"))
				return errStop
			}
			cs.iat, cs.hasIAT = t, true
			return nil
		default:
			return nil
		}
		if !isString(b, m.Value) {
			rej = refuse(reason, errors.New(name+" is not a string"))
			return errStop
		}
		*dst, *has = content(b, m.Value, m.ValueEsc), true
		return nil
	})
	switch {
	case rej != nil:
		return nil, rej
	case err != nil:
		return nil, refuse(ReasonMalformed, errClaimsJSON)
	case !cs.hasJTI || cs.jti == "" || len(cs.jti) > maxIDLen:
		return nil, refuse(ReasonID, errors.New("jti missing, empty or too long"))
	case !cs.hasHTM || cs.htm == "":
		return nil, refuse(ReasonMethod, errors.New("htm missing"))
	case !cs.hasHTU:
		return nil, refuse(ReasonURI, errors.New("htu missing"))
	case !cs.hasIAT:
		return nil, refuse(ReasonIssuedAt, errors.New("iat missing"))
	case !cs.hasATH:
		return nil, refuse(ReasonTokenHash, errors.New("ath missing"))
	}
	return cs, nil
}

// NumericDate bounds: years 1 to 9999, as package claims.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

// numericDate decodes a NumericDate (RFC 7519 §2): a JSON number of
// seconds since the epoch, integer or not. v is a valid JSON value.
func numericDate(v []byte) (time.Time, bool) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f < minNumericDate || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
}

// tokenHash is the ath of an access token: the base64url SHA-256 of its
// ASCII (RFC 9449 §4.2).
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
