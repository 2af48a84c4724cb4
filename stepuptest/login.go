package stepuptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// maxFormBytes caps the token endpoint's request body.
const maxFormBytes = 64 << 10

// TokenError is an error answer of the token endpoint (RFC 6749 §5.2), as
// Login returns it. Test for it with errors.As.
type TokenError struct {
	StatusCode  int    // HTTP status, 400 for request errors
	Code        string // OAuth error code, such as "invalid_request"
	Description string // error_description
}

// Error returns "stepuptest: token endpoint: <code>: <description>".
func (e *TokenError) Error() string {
	return "stepuptest: token endpoint: " + e.Code + ": " + e.Description
}

// LoginRequest is a non-interactive login at the token endpoint. The zero
// value logs DefaultSubject in at the default acr (ACRPassword unless
// configured), now.
type LoginRequest struct {
	Subject string // sub; default DefaultSubject
	// ACRValues are the requested acr values in preference order (as a
	// step-up challenge's acr_values gives them); the issuer logs in at the
	// first one it supports and fails with "unmet_authentication_requirements"
	// when it supports none.
	ACRValues []string
	// MaxAge is the max_age to send (the zero MaxAge sends none): a
	// step-up challenge's MaxAge as it is, or claims.MaxAgeOf(d).
	MaxAge claims.MaxAge
	// Prompt is sent as prompt; "login" forces a fresh authentication.
	Prompt string
	// AuthTime backdates the login (a session that started then), to
	// produce stale logins. It is kept unless MaxAge is exceeded or Prompt
	// is "login", in which case the issuer authenticates again now.
	AuthTime time.Time
	Scopes   []string // granted scopes
	Audience string   // aud; default the issuer's audience
	ClientID string   // client_id; default the issuer's client id
}

// LoginResponse is the token endpoint's success answer (RFC 6749 §5.1),
// for a client that posts LoginRequest.Form itself and decodes the JSON.
type LoginResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// Form returns the request as the token endpoint's form parameters,
// grant_type included, for a client that posts to TokenURL itself.
func (lr LoginRequest) Form() url.Values {
	f := url.Values{}
	f.Set("grant_type", grantTypeLogin)
	if lr.Subject != "" {
		f.Set("sub", lr.Subject)
	}
	if len(lr.ACRValues) > 0 {
		f.Set("acr_values", strings.Join(lr.ACRValues, " "))
	}
	if secs, ok := lr.MaxAge.Seconds(); ok {
		f.Set("max_age", strconv.FormatInt(secs, 10))
	}
	if lr.Prompt != "" {
		f.Set("prompt", lr.Prompt)
	}
	if !lr.AuthTime.IsZero() {
		f.Set("auth_time", strconv.FormatInt(lr.AuthTime.Unix(), 10))
	}
	if len(lr.Scopes) > 0 {
		f.Set("scope", strings.Join(lr.Scopes, " "))
	}
	if lr.Audience != "" {
		f.Set("audience", lr.Audience)
	}
	if lr.ClientID != "" {
		f.Set("client_id", lr.ClientID)
	}
	return f
}

// Login logs in at the issuer's token endpoint over HTTP, as a client
// would after a step-up challenge, and returns the access token. An error
// answer of the endpoint is a *TokenError. To read the whole response
// (expires_in, scope), POST lr.Form() to TokenURL and decode a
// LoginResponse.
func (iss *Issuer) Login(ctx context.Context, lr LoginRequest) (string, error) {
	resp, err := iss.postLogin(ctx, lr)
	if err != nil {
		return "", err
	}
	return resp.AccessToken, nil
}

func (iss *Issuer) postLogin(ctx context.Context, lr LoginRequest) (*LoginResponse, error) {
	body := lr.Form().Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iss.TokenURL(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("stepuptest: login: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := iss.Client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("stepuptest: login: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("stepuptest: login: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{StatusCode: resp.StatusCode}
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			te.Code, te.Description = e.Error, e.Description
		} else {
			te.Code, te.Description = "server_error", "unexpected response "+resp.Status
		}
		return nil, te
	}
	var out LoginResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("stepuptest: login: decode response: %w", err)
	}
	if out.AccessToken == "" {
		return nil, fmt.Errorf("stepuptest: login: response without access_token")
	}
	return &out, nil
}

// loginError is what the token endpoint answers on a bad request.
type loginError struct {
	status int
	code   string
	desc   string
}

func badRequest(desc string) *loginError {
	return &loginError{status: http.StatusBadRequest, code: "invalid_request", desc: desc}
}

// handleToken is the token endpoint: a non-interactive login.
func (iss *Issuer) handleToken(w http.ResponseWriter, r *http.Request) {
	iss.tokenRequests.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{
			"error": "invalid_request", "error_description": "the token endpoint accepts POST only"})
		return
	}
	resp, lerr := iss.login(w, r)
	if lerr != nil {
		writeJSON(w, lerr.status, map[string]string{"error": lerr.code, "error_description": lerr.desc})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// login parses and performs one login.
func (iss *Issuer) login(w http.ResponseWriter, r *http.Request) (*LoginResponse, *loginError) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, badRequest("content type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("malformed form body")
	}
	form := r.PostForm
	// RFC 6749 §3.2: parameters must not repeat (resource may, RFC 8707).
	for k, v := range form {
		if len(v) > 1 && k != "resource" {
			return nil, badRequest("parameter " + k + " repeated")
		}
	}
	if gt := form.Get("grant_type"); gt != "" && gt != grantTypeLogin {
		return nil, &loginError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			desc: "grant_type must be " + grantTypeLogin}
	}

	now := iss.cfg.now()
	tok := Token{
		Subject:  orDefault(form.Get("sub"), DefaultSubject),
		ClientID: orDefault(form.Get("client_id"), iss.cfg.clientID),
		IssuedAt: now,
		Scopes:   strings.Fields(form.Get("scope")),
	}

	// acr: the first requested value the issuer supports.
	tok.ACR = iss.cfg.defaultACR
	if av, ok := form["acr_values"]; ok {
		requested := strings.Fields(av[0])
		if len(requested) == 0 {
			return nil, badRequest("acr_values is empty")
		}
		tok.ACR = ""
		for _, a := range requested {
			if _, ok := iss.AMR(a); ok {
				tok.ACR = a
				break
			}
		}
		if tok.ACR == "" {
			return nil, &loginError{status: http.StatusBadRequest, code: "unmet_authentication_requirements",
				desc: "none of the requested acr_values is supported"}
		}
	}
	tok.AMR, _ = iss.AMR(tok.ACR)

	// auth_time: now, unless a backdated session is asked for and neither
	// max_age nor prompt=login forces a new authentication.
	tok.AuthTime = now
	var maxAge int64 = -1
	if v, ok := form["max_age"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return nil, badRequest("max_age must be a non-negative integer")
		}
		maxAge = n
	}
	promptLogin := false
	for _, p := range strings.Fields(form.Get("prompt")) {
		switch p {
		case "login":
			promptLogin = true
		case "none", "consent", "select_account":
		default:
			return nil, badRequest("unsupported prompt value")
		}
	}
	if v, ok := form["auth_time"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil {
			return nil, badRequest("auth_time must be an integer (seconds since the epoch)")
		}
		at := time.Unix(n, 0)
		if at.After(now) {
			return nil, badRequest("auth_time is in the future")
		}
		stale := maxAge >= 0 && now.Sub(at) > time.Duration(maxAge)*time.Second
		if !promptLogin && !stale {
			tok.AuthTime = at
		}
	}

	// aud: audience (Auth0 style) and resource (RFC 8707), or the default.
	if a := form.Get("audience"); a != "" {
		tok.Audience = append(tok.Audience, a)
	}
	for _, res := range form["resource"] {
		u, err := url.Parse(res)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, &loginError{status: http.StatusBadRequest, code: "invalid_target",
				desc: "resource must be an absolute URI without a fragment"}
		}
		tok.Audience = append(tok.Audience, res)
	}

	if iss.cfg.loginHook != nil {
		iss.cfg.loginHook(&tok)
	}
	raw, err := iss.Mint(tok)
	if err != nil {
		return nil, &loginError{status: http.StatusInternalServerError, code: "server_error", desc: "cannot mint the token"}
	}
	exp := tok.Expiry
	if exp.IsZero() {
		iat := tok.IssuedAt
		if iat.IsZero() {
			iat = now
		}
		exp = iat.Add(iss.cfg.ttl)
	}
	return &LoginResponse{
		AccessToken: raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(exp.Sub(now) / time.Second),
		Scope:       strings.Join(tok.Scopes, " "),
	}, nil
}
