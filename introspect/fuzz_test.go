package introspect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

// bodyTransport answers every request with 200, application/json and the
// body, without a network.
type bodyTransport struct{ body []byte }

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(b.body)),
		Request:    r,
	}, nil
}

// FuzzResponse: whatever the endpoint answers, Introspect never panics,
// returns exactly one of claims and an error, the error is a refusal or an
// outage, and no claims come out of a body whose active is not the JSON
// literal true (as encoding/json reads it).
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		rfc9470Example,
		`{"active":true}`, `{"active":false}`, `{"active":"true"}`, `{"active":1}`, `{}`,
		`{"active":true,"active":false}`, `{"active":true,"exp":"x"}`, `{"active":true,"aud":[1]}`,
		`{"active":true,"iss":"https://as.example.net","aud":["https://rs.example.com"],"exp":1618354200}`,
		`[true]`, `{"active":true`, "{\"active\":true,\"sub\":\"\xff\"}", `{"\u0061ctive":true}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := introspect.New(introspect.Config{
			Endpoint:     "https://as.example.net/introspect",
			ClientID:     "rs",
			ClientSecret: "secret",
			Issuer:       "https://as.example.net",
			Audience:     "https://rs.example.com",
			NoCache:      true,
			HTTPClient:   &http.Client{Transport: bodyTransport{body}},
			Now:          newClock().Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := c.Introspect(ctx, token)
		if (cl == nil) == (err == nil) {
			t.Fatalf("got %v and %v: want exactly one", cl, err)
		}
		if err != nil {
			var ce *claims.Error
			if !errors.As(err, &ce) && !errors.Is(err, claims.ErrUnavailable) {
				t.Fatalf("error %v is neither a refusal nor an outage", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("claims from a body encoding/json refuses (%v): %q", err, body)
		}
		if !bytes.Equal(m["active"], []byte("true")) {
			t.Fatalf("claims from a body whose active is %s: %q", m["active"], body)
		}
	})
}

// jwtTransport answers every request with 200,
// application/token-introspection+jwt and the body, without a network.
type jwtTransport struct{ body []byte }

func (b jwtTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/token-introspection+jwt"}},
		Body:       io.NopCloser(bytes.NewReader(b.body)),
		Request:    r,
	}, nil
}

// FuzzSignedResponse: whatever a signed-responses endpoint answers,
// Introspect never panics, returns exactly one of claims and an error, the
// error is a refusal or an outage, and claims come only from a signing
// input the test's key signed.
func FuzzSignedResponse(f *testing.F) {
	k := newSigningKey(f, "ES256")
	keys := keySet(f, k)
	signed := map[string]bool{}
	for _, inner := range []any{
		rfc9470Inner,
		map[string]any{"active": true},
		map[string]any{"active": false},
		map[string]any{"active": "true"},
		"x",
	} {
		jwt := k.sign(f, k.header(), responseClaims(inner))
		signed[jwt[:strings.LastIndexByte(jwt, '.')]] = true
		f.Add([]byte(jwt))
	}
	f.Add([]byte(`{"active":true}`))
	f.Add([]byte("e30.e30.e30"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := introspect.New(introspect.Config{
			Endpoint:        "https://as.example.net/introspect",
			ClientID:        "rs",
			ClientSecret:    "secret",
			Issuer:          asIssuer,
			SignedResponses: true,
			Keys:            keys,
			NoCache:         true,
			HTTPClient:      &http.Client{Transport: jwtTransport{body}},
			Now:             newClock().Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := c.Introspect(ctx, token)
		if (cl == nil) == (err == nil) {
			t.Fatalf("got %v and %v: want exactly one", cl, err)
		}
		if err != nil {
			var ce *claims.Error
			if !errors.As(err, &ce) && !errors.Is(err, claims.ErrUnavailable) {
				t.Fatalf("error %v is neither a refusal nor an outage", err)
			}
			if ce != nil && !signed[signingInput(body)] {
				t.Fatalf("a refusal of the token from an answer the key did not sign: %q", body)
			}
			return
		}
		if !signed[signingInput(body)] {
			t.Fatalf("claims from an answer the key did not sign: %q", body)
		}
	})
}

// signingInput is the header and payload parts of a compact JWS body.
func signingInput(body []byte) string {
	s := strings.Trim(string(body), " \t\r\n")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i]
	}
	return ""
}
