package dpop_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stepupauth/stepup/dpop"
)

// clientProof is what a client does for each request (RFC 9449 §4.2): a JWT
// of the method, URI, time and token hash, signed with its own key, the
// public half in the header.
func clientProof(key ed25519.PrivateKey, method, uri, token, nonce, jti string, now time.Time) string {
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]any{
		"typ": "dpop+jwt", "alg": "EdDSA",
		"jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": enc.EncodeToString(key.Public().(ed25519.PublicKey))},
	})
	sum := sha256.Sum256([]byte(token))
	claims := map[string]any{"jti": jti, "htm": method, "htu": uri, "iat": now.Unix(), "ath": enc.EncodeToString(sum[:])}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, _ := json.Marshal(claims)
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	return input + "." + enc.EncodeToString(ed25519.Sign(key, []byte(input)))
}

func Example() {
	v, err := dpop.New(dpop.Config{})
	if err != nil {
		panic(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // the client's key
	proof := clientProof(key, "GET", "https://api.example.com/orders", "the-access-token", "", "id-1", time.Now())

	req := dpop.Request{
		Method:      "GET",
		URL:         "https://api.example.com/orders?page=2", // public base URL + the request's path
		AccessToken: "the-access-token",
	}
	p, err := v.Verify(context.Background(), proof, req)
	if err != nil {
		panic(err)
	}
	// Compare p.JKT with the access token's cnf.jkt.
	fmt.Println("jkt:", p.JKT)

	// A proof is good once.
	_, err = v.Verify(context.Background(), proof, req)
	var perr *dpop.Error
	if errors.As(err, &perr) {
		fmt.Println("again:", perr.Code, perr.Reason)
	}
	// Output:
	// jkt: 9ZP03Nu8GrXPAUkbKNxHOKBzxPX83SShgFkRNK-f2lw
	// again: invalid_dpop_proof replay
}

func ExampleNonces() {
	secret := make([]byte, 32) // in production: 32 random bytes shared by the fleet
	nonces, err := dpop.NewNonces(secret, 5*time.Minute)
	if err != nil {
		panic(err)
	}
	v, err := dpop.New(dpop.Config{Nonces: nonces})
	if err != nil {
		panic(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	req := dpop.Request{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: "the-access-token"}

	// The first proof has no nonce: 401 with error="use_dpop_nonce" and
	// the nonce in the DPoP-Nonce header.
	_, err = v.Verify(context.Background(), clientProof(key, "POST", req.URL, req.AccessToken, "", "id-1", time.Now()), req)
	var perr *dpop.Error
	if !errors.As(err, &perr) {
		panic(err)
	}
	fmt.Println(perr.Code, perr.Nonce != "")

	// The client retries with the nonce.
	_, err = v.Verify(context.Background(), clientProof(key, "POST", req.URL, req.AccessToken, perr.Nonce, "id-2", time.Now()), req)
	fmt.Println("retry:", err)
	// Output:
	// use_dpop_nonce true
	// retry: <nil>
}
