package mtls

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// headerName is the RFC 9440 header field; gRPC metadata carries it as
// "client-cert".
const headerName = "Client-Cert"

// ErrMalformedClientCert reports a Client-Cert field from a trusted proxy
// that is not one certificate encoded as RFC 9440 §2.2 says. Test for it
// with errors.Is; the request is to be refused as invalid.
var ErrMalformedClientCert = errors.New("mtls: malformed Client-Cert header")

// Thumbprint returns the x5t#S256 of cert: the base64url encoding, without
// padding, of the SHA-256 hash of its DER encoding (RFC 8705 §3.1).
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Config says where the client certificate comes from. The zero Config
// reads the TLS connection only.
type Config struct {
	// TrustedProxies are the addresses of reverse proxies that terminate
	// TLS and pass the client certificate in the RFC 9440 Client-Cert
	// header. A Client-Cert header from any other peer is ignored (never
	// trusted), and so is one on a request that has its own TLS client
	// certificate. IPv4-mapped IPv6 prefixes are read as the IPv4 prefix
	// they map. A prefix of length zero (0.0.0.0/0, ::/0) is refused
	// unless InsecureTrustAnyProxy is set.
	TrustedProxies []netip.Prefix

	// InsecureTrustAnyProxy trusts the Client-Cert header from every peer,
	// whatever its address (and also when the address cannot be read, as
	// on a Unix socket). Any client that reaches the server directly can
	// then claim any certificate: set it only when the network lets
	// nothing but the proxy connect.
	InsecureTrustAnyProxy bool
}

// Source reads the thumbprint of a request's client certificate. Build it
// with New; the zero Source reads the TLS connection only. A *Source is
// safe for concurrent use.
type Source struct {
	proxies  []netip.Prefix
	anyProxy bool
}

// New validates cfg and returns its Source. It copies cfg.TrustedProxies:
// changing the slice afterwards changes nothing.
func New(cfg Config) (*Source, error) {
	s := &Source{anyProxy: cfg.InsecureTrustAnyProxy}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("mtls: invalid trusted proxy prefix %v", p)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Bits() == 0 && !cfg.InsecureTrustAnyProxy {
			return nil, fmt.Errorf("mtls: trusted proxy prefix %v trusts every address: set InsecureTrustAnyProxy to mean it", p)
		}
		s.proxies = append(s.proxies, p.Masked())
	}
	return s, nil
}

// FromRequest returns the thumbprint of r's client certificate (see the
// package documentation for where it comes from): from
// r.TLS.PeerCertificates[0] when there is one, else from the Client-Cert
// header when r.RemoteAddr is a trusted proxy. ok is false when there is
// none. A malformed Client-Cert header from a trusted proxy is an error
// matching ErrMalformedClientCert.
func (s *Source) FromRequest(r *http.Request) (thumbprint string, ok bool, err error) {
	return s.decide(r.TLS, func() (netip.Addr, bool) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		return ap.Addr(), err == nil
	}, r.Header.Values(headerName))
}

// FromConn is FromRequest for a connection known by its parts, as gRPC
// has it: state is the TLS state of the connection (from the
// credentials.TLSInfo of the peer; nil without TLS), remote the peer's
// address, and clientCert the values of the incoming "client-cert"
// metadata. The rules are those of FromRequest.
func (s *Source) FromConn(state *tls.ConnectionState, remote net.Addr, clientCert []string) (thumbprint string, ok bool, err error) {
	return s.decide(state, func() (netip.Addr, bool) { return addrOf(remote) }, clientCert)
}

// decide is the one rule behind FromRequest and FromConn. remote is
// called only when it matters, so that a request with a TLS certificate
// or without a header costs no address parsing.
func (s *Source) decide(state *tls.ConnectionState, remote func() (netip.Addr, bool), header []string) (string, bool, error) {
	if state != nil && len(state.PeerCertificates) > 0 {
		return Thumbprint(state.PeerCertificates[0]), true, nil
	}
	if len(header) == 0 || !s.trusts(remote) {
		return "", false, nil
	}
	if len(header) > 1 {
		// A singleton field (RFC 9440 §2.2); several lines combine into a
		// list (RFC 9110 §5.3), which is not an Item.
		return "", false, fmt.Errorf("%w: the field occurs %d times", ErrMalformedClientCert, len(header))
	}
	cert, err := ParseClientCert(header[0])
	if err != nil {
		return "", false, err
	}
	return Thumbprint(cert), true, nil
}

func (s *Source) trusts(remote func() (netip.Addr, bool)) bool {
	if s.anyProxy {
		return true
	}
	if len(s.proxies) == 0 {
		return false
	}
	addr, ok := remote()
	if !ok {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, p := range s.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// addrOf is the IP address of a peer; ok is false for an address that is
// not IP (a Unix socket, an in-memory pipe) or is nil.
func addrOf(a net.Addr) (netip.Addr, bool) {
	switch a := a.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		if a == nil {
			return netip.Addr{}, false
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip, ok
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap.Addr(), err == nil
}

// ParseClientCert parses one Client-Cert field value (RFC 9440 §2.2): a
// Structured Field Item that is a Byte Sequence holding the DER of one
// certificate, such as ":MIIB...:". It follows RFC 8941 §4.2 and §4.2.7
// (see the package documentation for the details); parameters are
// refused. Errors match ErrMalformedClientCert.
func ParseClientCert(value string) (*x509.Certificate, error) {
	der, err := parseByteSequenceItem(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedClientCert, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedClientCert, err)
	}
	return cert, nil
}

// parseByteSequenceItem is RFC 8941 §4.2 for a field of type Item whose
// bare item must be a Byte Sequence (§4.2.7), without parameters.
func parseByteSequenceItem(s string) ([]byte, error) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return nil, errors.New("empty field")
	}
	if s[0] != ':' {
		return nil, errors.New("not a byte sequence")
	}
	end := strings.IndexByte(s[1:], ':')
	if end < 0 {
		return nil, errors.New("unterminated byte sequence")
	}
	b64, rest := s[1:1+end], s[2+end:]
	for i := 0; i < len(b64); i++ {
		if !isBase64Char(b64[i]) {
			return nil, errors.New("byte sequence holds a character outside base64")
		}
	}
	if rest = strings.TrimLeft(rest, " "); rest != "" {
		if rest[0] == ';' {
			return nil, errors.New("parameters are not accepted")
		}
		return nil, errors.New("more than one item")
	}
	// Padding is synthesized when absent and pad bits need not be zero
	// (RFC 8941 §4.2.7): StdEncoding, not Strict, ignores pad bits.
	enc := base64.RawStdEncoding
	if strings.HasSuffix(b64, "=") {
		enc = base64.StdEncoding
	}
	der, err := enc.DecodeString(b64)
	if err != nil {
		return nil, errors.New("byte sequence is not valid base64")
	}
	return der, nil
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '='
}
