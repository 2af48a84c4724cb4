// Package mtls gives the client-certificate side of certificate-bound
// access tokens (RFC 8705 §3): the x5t#S256 thumbprint of the certificate
// a client authenticated with. The middleware (httpmw, grpcmw) compares it
// with the x5t#S256 the token's cnf claim is bound to; a token bound to a
// certificate is refused unless the request came with that certificate.
//
//	src, err := mtls.New(mtls.Config{
//		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32")},
//	})
//	if err != nil { ... }
//	guard, err := httpmw.New(v, httpmw.WithClientCertificates(src))
//
// # Where the certificate comes from
//
// A Source reads the client certificate from, in this order:
//
//  1. the TLS connection itself: the first of its peer certificates (the
//     end-entity certificate, RFC 8446 §4.4.2). When there is one, a
//     Client-Cert header on the same request is ignored.
//  2. the Client-Cert header field (RFC 9440 §2.2) that a TLS-terminating
//     reverse proxy adds, but only when the peer that sent the request is
//     one of Config.TrustedProxies. From any other peer the header is
//     ignored, never trusted: the proxy strips a client's own Client-Cert
//     (RFC 9440 §2.4), and the server accepts the field only from a
//     trusted proxy (RFC 9440 §4). With no TrustedProxies, the default, the
//     header is never used (the opt-in RFC 9440 §4 asks for).
//
// Certificates are not verified here: whoever terminates TLS decides which
// certificates it accepts (RFC 8705 §3 allows self-signed ones). The
// thumbprint binds a token to a certificate, whatever its issuer.
//
// A proxy that authenticates to the server with a client certificate of
// its own hides the client's: the connection's certificate wins, and its
// thumbprint is the proxy's. Such proxies must reach the server over TLS
// without client authentication (or plain TCP on a private network).
//
// # Client-Cert
//
// The header is a Structured Field Item whose value is a Byte Sequence
// (RFC 8941 §3.3.5): the base64 of the certificate's DER between colons,
// ":MIIB...:". ParseClientCert follows the parsing algorithm of RFC 8941
// §4.2 and §4.2.7: leading and trailing spaces are dropped, missing "="
// padding is synthesized and non-zero pad bits are accepted (§4.2.7
// recommends both), anything after the Item fails, and so the
// comma-separated list of two certificates fails. The field is a
// singleton (RFC 9440 §2.2): two Client-Cert lines fail too. Parameters
// on the Item are refused; RFC 9440 defines none.
//
// A Client-Cert from a trusted proxy that fails to parse is an error from
// FromRequest and FromConn (ErrMalformedClientCert), and the request is
// to be refused as invalid. RFC 8941 §4.2 would have a failed field
// ignored, treated as absent; this package is stricter on purpose: the
// trusted proxy is misconfigured or not the proxy, and treating its
// request as one without a certificate would hide that.
//
// # Concurrency
//
// A *Source is immutable once New returns and safe for concurrent use.
// The zero Source reads the TLS connection only.
//
// # Standards
//
//   - RFC 8705, OAuth 2.0 Mutual-TLS Client Authentication and
//     Certificate-Bound Access Tokens: https://www.rfc-editor.org/rfc/rfc8705
//   - RFC 9440, Client-Cert HTTP Header Field:
//     https://www.rfc-editor.org/rfc/rfc9440
//   - RFC 8941, Structured Field Values for HTTP:
//     https://www.rfc-editor.org/rfc/rfc8941
package mtls
