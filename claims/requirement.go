package claims

import "time"

// Well-known acr values.
const (
	// ACRMultiFactor is the OpenID PAPE multi-factor policy URI, the acr
	// value Auth0 and others use for MFA.
	ACRMultiFactor = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
	// ACRPhishingResistant is the OpenID PAPE phishing-resistant policy URI
	// (OpenID Provider Authentication Policy Extension 1.0 §4,
	// https://openid.net/specs/openid-provider-authentication-policy-extension-1_0.html):
	// the user authenticated in a way that does not reveal a secret to a
	// party impersonating the provider, such as a security key or passkey.
	// It says nothing about the number of factors; require ACRMultiFactor
	// as well, or instead, when that matters.
	ACRPhishingResistant = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"
)

// Authentication method reference values registered by RFC 8176 §2, for the
// amr claim.
const (
	AMRFace              = "face"   // facial recognition
	AMRFingerprint       = "fpt"    // fingerprint biometric
	AMRGeolocation       = "geo"    // use of geolocation information
	AMRHardwareKey       = "hwk"    // proof of possession of a hardware-secured key
	AMRIris              = "iris"   // iris scan biometric
	AMRKnowledgeBased    = "kba"    // knowledge-based authentication
	AMRMultiChannel      = "mca"    // multiple-channel authentication
	AMRMFA               = "mfa"    // multiple-factor authentication
	AMROTP               = "otp"    // one-time password
	AMRPIN               = "pin"    // personal identification number or pattern
	AMRProofOfPossession = "pop"    // proof of possession of a key
	AMRPassword          = "pwd"    // password-based authentication
	AMRRiskBased         = "rba"    // risk-based authentication
	AMRRetina            = "retina" // retina scan biometric
	AMRSmartCard         = "sc"     // smart card
	AMRSMS               = "sms"    // confirmation by SMS
	AMRSoftwareKey       = "swk"    // proof of possession of a software-secured key
	AMRTelephone         = "tel"    // confirmation by telephone call
	AMRUser              = "user"   // user presence test
	AMRVoice             = "vbm"    // voice biometric
	AMRWindowsIntegrated = "wia"    // Windows integrated authentication
)

// Requirement is what a route or RPC demands of a verified token. The zero
// Requirement accepts any valid token. Every non-empty condition must hold;
// AnyOf adds a disjunction on top of them.
//
// A Requirement is a value: safe to share and to evaluate concurrently once
// built.
type Requirement struct {
	// ACR: the token's acr must be one of these (any-of, in preference order
	// for the challenge).
	ACR []string
	// ACRMin: the token's acr must be at least this level in ACRLevels. A
	// challenge then asks for ACRMin first, then the higher levels from the
	// lowest up. With ACR too, both must hold.
	ACRMin string
	// ACRLevels orders acr values from the lowest to the highest (Keycloak
	// style levels of assurance). Required with ACRMin.
	ACRLevels []string
	// AMRAll: every one of these must be in amr.
	AMRAll []string
	// AMRAny: at least one of these must be in amr.
	AMRAny []string
	// AMRACRValues are the acr_values a challenge asks for when an amr
	// condition fails (amr itself cannot be requested, RFC 9470). Empty:
	// the challenge carries no acr_values for the amr condition.
	AMRACRValues []string
	// MaxAge: auth_time must be no older than this (plus the leeway given
	// to Evaluate). Zero means no limit.
	MaxAge time.Duration
	// Scopes: every one of these must be granted.
	Scopes []string
	// AnyOf: when non-empty, at least one of these must also be met.
	AnyOf []Requirement
	// Binding demands a sender-constrained token (RFC 9449 DPoP, RFC 8705
	// certificate-bound): a bearer token is then refused with invalid_token
	// and a challenge that asks for the binding. It is checked first, and
	// only on the top-level Requirement (Validate refuses it in AnyOf).
	// That the token was presented with its proof or over its certificate
	// is checked by the transport for every bound token, whatever the
	// Requirement.
	Binding Binding
	// Check is a custom predicate for what the fields cannot say. It runs
	// after the other conditions hold and returns nil or the rejection.
	Check func(c *Claims) *Error
}

// Binding is a sender constraint a Requirement can demand.
type Binding uint8

// The sender constraints.
const (
	// BindingNone accepts bearer tokens (and bound ones, with their proof).
	BindingNone Binding = iota
	// BindingDPoP demands a DPoP-bound token (cnf jkt, RFC 9449 §6).
	BindingDPoP
	// BindingMTLS demands a certificate-bound token (cnf x5t#S256, RFC
	// 8705 §3).
	BindingMTLS
	// BindingAny demands a token bound either way.
	BindingAny
)
