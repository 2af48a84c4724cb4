package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

// devIntrospection is a dev fixture, not an authorization server: the
// introspection endpoint (RFC 7662) that -dev serves on 127.0.0.1 beside
// the stepuptest issuer, which has none. It knows one client, the
// policy's client_id with a secret made up at start, authenticated as the
// policy's auth says. It answers active, with the claims of a dev login,
// for the opaque tokens issue handed out, and active false for any other
// token or for one past its exp. Close stops it.
type devIntrospection struct {
	url      string
	clientID string
	secret   string
	post     bool // client_secret_post, else client_secret_basic

	srv  *http.Server
	done chan struct{} // closed when Serve returned

	mu     sync.Mutex
	tokens map[string]map[string]any
}

// newDevIntrospection starts the fixture for clientID.
func newDevIntrospection(clientID string, post bool) (*devIntrospection, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &devIntrospection{
		url:      "http://" + lis.Addr().String() + "/introspect",
		clientID: clientID,
		secret:   randomString(),
		post:     post,
		done:     make(chan struct{}),
		tokens:   map[string]map[string]any{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /introspect", d.introspect)
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(d.done)
		_ = d.srv.Serve(lis)
	}()
	return d, nil
}

// Close stops the server and waits for it.
func (d *devIntrospection) Close() {
	_ = d.srv.Close()
	<-d.done
}

// randomString is 32 random bytes, base64url: no dots, so never a JWT.
func randomString() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// issue returns a new opaque token that the fixture answers with the
// claims of jwt, a token of the dev issuer (its payload read as is: the
// fixture's own issuer signed it a moment ago).
func (d *devIntrospection) issue(jwt string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", errors.New("dev introspection: not a JWS compact serialization")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("dev introspection: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var cl map[string]any
	if err := dec.Decode(&cl); err != nil {
		return "", fmt.Errorf("dev introspection: %w", err)
	}
	cl["active"] = true
	tok := randomString()
	d.mu.Lock()
	d.tokens[tok] = cl
	d.mu.Unlock()
	return tok, nil
}

// authenticated reports whether r carries the fixture's client
// credentials by the one method it expects.
func (d *devIntrospection) authenticated(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if d.post {
		if basic {
			return false
		}
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	} else {
		if !basic || r.PostForm.Has("client_secret") {
			return false
		}
		// RFC 6749 §2.3.1: form-urlencoded before Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return false
		}
	}
	return id == d.clientID && subtle.ConstantTimeCompare([]byte(secret), []byte(d.secret)) == 1
}

func (d *devIntrospection) introspect(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if !d.authenticated(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="dev introspection"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	d.mu.Lock()
	cl, ok := d.tokens[r.PostForm.Get("token")]
	d.mu.Unlock()
	if exp, isNum := cl["exp"].(json.Number); ok && isNum {
		if s, err := exp.Int64(); err != nil || time.Now().Unix() >= s {
			ok = false
		}
	}
	if !ok {
		_, _ = w.Write([]byte(`{"active":false}`))
		return
	}
	_ = json.NewEncoder(w).Encode(cl)
}

// DevOpaqueToken logs in at the dev issuer (multi-factor when it supports
// it, else its first level), granting scopes, and returns OPAQUE_TOKEN, an
// opaque token that the dev introspection endpoint answers with that
// login's claims. It returns nil without -dev or without an introspection
// block.
func (a *App) DevOpaqueToken(ctx context.Context, scopes []string) (*DevToken, error) {
	if a.Dev == nil || a.devIntro == nil {
		return nil, nil
	}
	acr := claims.ACRMultiFactor
	if levels := a.Dev.ACRValues(); !slices.Contains(levels, acr) && len(levels) > 0 {
		acr = levels[0]
	}
	jwt, err := a.Dev.Login(ctx, stepuptest.LoginRequest{ACRValues: []string{acr}, Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("login at %q: %w", acr, err)
	}
	tok, err := a.devIntro.issue(jwt)
	if err != nil {
		return nil, err
	}
	amr, _ := a.Dev.AMR(acr)
	return &DevToken{
		Var: "OPAQUE_TOKEN", ACR: acr, AMR: amr, Token: tok,
		Note: "opaque, answered by the dev introspection endpoint " + a.devIntro.url,
	}, nil
}
