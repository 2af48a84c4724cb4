package stepupclient_test

import (
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepupclient"
)

// TestAuthCodeOptions: each Login field becomes its authorization request
// parameter, scope replaces the Config's, and absent fields send nothing.
func TestAuthCodeOptions(t *testing.T) {
	conf := &oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example.com/authorize"}, Scopes: []string{"openid"}}
	for _, tc := range []struct {
		name string
		l    stepupclient.Login
		want url.Values
	}{
		{"empty", stepupclient.Login{}, url.Values{"scope": {"openid"}}},
		{"all", stepupclient.Login{
			ACRValues: []string{"urn:a", "urn:b"},
			MaxAge:    claims.MaxAgeOf(0),
			Scopes:    []string{"openid", "pay"},
			Claims:    `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`,
			DPoPJKT:   "jkt-1",
		}, url.Values{
			"acr_values": {"urn:a urn:b"}, "max_age": {"0"}, "scope": {"openid pay"},
			"claims": {`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`}, "dpop_jkt": {"jkt-1"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(conf.AuthCodeURL("s", tc.l.AuthCodeOptions()...))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			for _, k := range []string{"client_id", "response_type", "state"} {
				q.Del(k)
			}
			if q.Encode() != tc.want.Encode() {
				t.Errorf("parameters %s, want %s", q.Encode(), tc.want.Encode())
			}
		})
	}
}
