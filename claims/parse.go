package claims

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseError reports a claim set that cannot be a valid access token
// payload: not a JSON object, a duplicate member, or a registered claim of
// the wrong type. Claim is empty when the problem is not tied to one claim.
type ParseError struct {
	Claim string // the claim at fault, "" for the payload as a whole
	Msg   string // what is wrong, lower case
}

// Error returns "claims: parse: <msg>" or "claims: parse: <claim>: <msg>".
func (e *ParseError) Error() string {
	if e.Claim == "" {
		return "claims: parse: " + e.Msg
	}
	return "claims: parse: " + strconv.Quote(e.Claim) + ": " + e.Msg
}

// NumericDate bounds: years 1 to 9999, the range time.Time formats sanely
// and far beyond any real token.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

// Parse builds Claims from a JWT claim set (the decoded payload of a
// verified token). It does not check signatures, expiry or audience: that is
// the verifier's job.
//
// Parse rejects, with a *ParseError, a payload that is not exactly one JSON
// object, has a duplicate top-level member (compared after unescaping, RFC
// 7519 §4 and RFC 8725 §3.1), or carries a registered claim of the wrong
// type: iss, sub, jti and client_id must be strings; exp, nbf and iat
// numbers (NumericDate, integer or fraction, between the years 1 and 9999);
// aud a string or an array of strings.
//
// The optional claims acr, amr, auth_time, acrs, scope, scp and cnf (acr, amr
// and auth_time under the names given by names) are never a reason to reject
// the token: when one has the wrong type (acr not a string; amr, acrs not an
// array of strings; auth_time not a NumericDate; scope not a string; scp not
// a string or an array of strings; cnf not an object) its canonical name is
// appended to Claims.Malformed and its typed field stays empty, so a
// requirement on it fails. JSON null counts as the wrong type everywhere.
//
// Scopes come from scope when the token has a scope member (even a
// malformed one), and from scp only otherwise. When names remaps a claim,
// the standard name is not consulted: it is only reachable through Raw.
func Parse(payload []byte, names Names) (*Claims, error) {
	raw, err := decodeObject(payload)
	if err != nil {
		return nil, err
	}
	c := &Claims{Raw: raw}

	if c.Issuer, err = registeredString(raw, "iss"); err != nil {
		return nil, err
	}
	if c.Subject, err = registeredString(raw, "sub"); err != nil {
		return nil, err
	}
	if c.ID, err = registeredString(raw, "jti"); err != nil {
		return nil, err
	}
	if c.ClientID, err = registeredString(raw, "client_id"); err != nil {
		return nil, err
	}
	if c.Expiry, err = registeredDate(raw, "exp"); err != nil {
		return nil, err
	}
	if c.NotBefore, err = registeredDate(raw, "nbf"); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = registeredDate(raw, "iat"); err != nil {
		return nil, err
	}
	if v, ok := raw["aud"]; ok {
		if s, ok := jsonString(v); ok {
			c.Audience = []string{s}
		} else if a, ok := jsonStrings(v); ok {
			c.Audience = a
		} else {
			return nil, &ParseError{Claim: "aud", Msg: "not a string or an array of strings"}
		}
	}

	if v, ok := raw[nameOr(names.ACR, "acr")]; ok {
		if s, ok := jsonString(v); ok {
			c.ACR = s
		} else {
			c.Malformed = append(c.Malformed, "acr")
		}
	}
	if v, ok := raw[nameOr(names.AMR, "amr")]; ok {
		if a, ok := jsonStrings(v); ok {
			c.AMR = a
		} else {
			c.Malformed = append(c.Malformed, "amr")
		}
	}
	if v, ok := raw[nameOr(names.AuthTime, "auth_time")]; ok {
		if t, err := numericDate(v); err == nil {
			c.AuthTime = t
		} else {
			c.Malformed = append(c.Malformed, "auth_time")
		}
	}
	if v, ok := raw["acrs"]; ok {
		if a, ok := jsonStrings(v); ok {
			c.ACRS = a
		} else {
			c.Malformed = append(c.Malformed, "acrs")
		}
	}
	if v, ok := raw["scope"]; ok {
		if s, ok := jsonString(v); ok {
			c.Scopes = strings.Fields(s)
		} else {
			c.Malformed = append(c.Malformed, "scope")
		}
	} else if v, ok := raw["scp"]; ok {
		if s, ok := jsonString(v); ok {
			c.Scopes = strings.Fields(s)
		} else if a, ok := jsonStrings(v); ok {
			c.Scopes = a
		} else {
			c.Malformed = append(c.Malformed, "scp")
		}
	}
	if v, ok := raw["cnf"]; ok {
		if len(v) > 0 && v[0] == '{' {
			c.Confirmation = v
		} else {
			c.Malformed = append(c.Malformed, "cnf")
		}
	}
	return c, nil
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

// decodeObject reads payload as exactly one JSON object, refusing duplicate
// member names. encoding/json validates the whole payload first; a
// boundary scan then splits the top-level members without reflection, and
// the values alias one private copy of the payload.
func decodeObject(payload []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(payload) {
		return nil, &ParseError{Msg: "malformed json"}
	}
	buf := bytes.Clone(payload)
	i := skipWS(buf, 0)
	if i >= len(buf) || buf[i] != '{' {
		return nil, &ParseError{Msg: "not a json object"}
	}
	m := make(map[string]json.RawMessage, 16)
	i = skipWS(buf, i+1)
	if buf[i] == '}' {
		return m, nil
	}
	for {
		// buf[i] is the '"' of a member name: the payload is valid JSON.
		end := stringEnd(buf, i)
		name, ok := jsonString(buf[i:end])
		if !ok {
			return nil, &ParseError{Msg: "malformed json"}
		}
		i = skipWS(buf, end)
		i = skipWS(buf, i+1) // ':'
		vend := valueEnd(buf, i)
		if _, dup := m[name]; dup {
			return nil, &ParseError{Claim: name, Msg: "duplicate member"}
		}
		m[name] = json.RawMessage(buf[i:vend:vend])
		i = skipWS(buf, vend)
		if buf[i] == '}' {
			return m, nil
		}
		i = skipWS(buf, i+1) // ','
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the valid JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			i = stringEnd(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

func registeredString(raw map[string]json.RawMessage, name string) (string, error) {
	v, ok := raw[name]
	if !ok {
		return "", nil
	}
	s, ok := jsonString(v)
	if !ok {
		return "", &ParseError{Claim: name, Msg: "not a string"}
	}
	return s, nil
}

func registeredDate(raw map[string]json.RawMessage, name string) (time.Time, error) {
	v, ok := raw[name]
	if !ok {
		return time.Time{}, nil
	}
	t, err := numericDate(v)
	if err != nil {
		return time.Time{}, &ParseError{Claim: name, Msg: err.Error()}
	}
	return t, nil
}

// jsonString decodes a JSON string value; ok is false for any other type.
func jsonString(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	// Fast path: printable ASCII without escapes is its own content.
	plain := true
	for _, b := range v[1 : len(v)-1] {
		if b == '\\' || b < 0x20 || b >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// jsonStrings decodes a JSON array whose elements are all strings. v is a
// valid JSON value (Parse validated the payload).
func jsonStrings(v json.RawMessage) ([]string, bool) {
	if len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	out := []string{}
	i := skipWS(v, 1)
	if i < len(v) && v[i] == ']' {
		return out, true
	}
	for i < len(v) {
		if v[i] != '"' {
			return nil, false
		}
		end := stringEnd(v, i)
		s, ok := jsonString(v[i:end])
		if !ok {
			return nil, false
		}
		out = append(out, s)
		i = skipWS(v, end)
		if i >= len(v) || v[i] == ']' {
			return out, true
		}
		i = skipWS(v, i+1) // ','
	}
	return nil, false
}

// numericDate decodes a NumericDate (RFC 7519 §2): a JSON number of seconds
// since the epoch, integer or not, kept to the nanosecond when written
// without an exponent.
func numericDate(v json.RawMessage) (time.Time, error) {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return time.Time{}, errors.New("not a number")
	}
	s := string(v)
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < minNumericDate || f > maxNumericDate {
			return time.Time{}, errors.New("numeric date out of range")
		}
		sec := math.Floor(f)
		nsec := math.Round((f - sec) * 1e9)
		return time.Unix(int64(sec), int64(nsec)).UTC(), nil
	}
	intPart, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec < minNumericDate || sec > maxNumericDate {
		return time.Time{}, errors.New("numeric date out of range")
	}
	var nsec int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9] // below a nanosecond: truncated
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("malformed number")
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
		if strings.HasPrefix(intPart, "-") {
			nsec = -nsec // -1.5 is one and a half seconds before the epoch
		}
	}
	return time.Unix(sec, nsec).UTC(), nil
}
