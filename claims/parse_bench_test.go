package claims_test

import (
	"testing"

	"github.com/stepupauth/stepup/claims"
)

// rfc9068Payload is the claim set the bench module mints (bench/fixtures.go):
// a typical RFC 9068 access token as json.Marshal writes it.
const rfc9068Payload = `{"acr":"http://schemas.openid.net/pape/policies/2007/06/multi-factor",` +
	`"amr":["pwd","otp"],"aud":"https://api.bench.example","auth_time":1763868860,` +
	`"client_id":"s6BhdRkqt3","exp":1763872580,"iat":1763868920,` +
	`"iss":"https://issuer.bench.example/","jti":"bench-jti-000001","nbf":1763868920,` +
	`"scope":"openid profile accounts:read transfers:write","sub":"248289761001"}`

// BenchmarkParseRFC9068 measures Parse on the payload of the benchmark
// suite's token, the cost first-sight verification pays once per token.
func BenchmarkParseRFC9068(b *testing.B) {
	payload := []byte(rfc9068Payload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := claims.Parse(payload, claims.Names{}); err != nil {
			b.Fatal(err)
		}
	}
}
