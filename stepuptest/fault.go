package stepuptest

import (
	"bytes"
	"fmt"
	"net/http"
	"time"
)

// Fault is a misbehaviour of the JWKS or discovery endpoints, set with
// SetFaults. The token endpoint never faults.
type Fault int32

// The faults. Each applies to every request until another is set.
const (
	// FaultNone serves normally.
	FaultNone Fault = iota
	// Fault500 answers 500 Internal Server Error with a small JSON body.
	Fault500
	// FaultSlow holds the response for the WithSlowDelay duration, then
	// serves normally. A held request ends as soon as the client gives up
	// (its request context is cancelled) or the Issuer is closed, so no
	// goroutine hangs.
	FaultSlow
	// FaultGarbage answers 200 with the right Content-Type and a body that
	// is not JSON.
	FaultGarbage
	// FaultOversized answers 200 with the right Content-Type and a JSON
	// body of 1 MiB plus 1 KiB (the real document padded with an extra
	// member).
	FaultOversized
	// FaultDown accepts the connection, reads the request and closes the
	// connection without a response, as a crashed or unreachable server
	// behind a load balancer would: the client gets a transport error, not
	// a status code.
	FaultDown
	// FaultHTML answers 200 with Content-Type text/html and an HTML page,
	// as a captive portal or a misrouted proxy would.
	FaultHTML
)

// oversizedBodySize is the size in bytes of a FaultOversized body.
const oversizedBodySize = 1<<20 + 1<<10

var faultNames = [...]string{"none", "500", "slow", "garbage", "oversized", "down", "html"}

// String returns the fault's short name, such as "slow".
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int32(f))
}

func (f Fault) valid() bool { return f >= FaultNone && f <= FaultHTML }

// Faults says how each faultable endpoint misbehaves. The zero value
// serves both normally.
type Faults struct {
	// JWKS is the fault of the JWKS endpoint.
	JWKS Fault
	// Discovery is the fault of both discovery documents (OpenID Connect
	// and RFC 8414).
	Discovery Fault
}

// SetFaults replaces the faults of every endpoint at once: SetFaults with
// Faults{JWKS: Fault500} fails the JWKS and serves discovery normally, and
// the zero Faults ends every fault. An unknown Fault value is an error and
// changes nothing. Requests already being answered keep the fault they
// started with.
func (iss *Issuer) SetFaults(f Faults) error {
	for _, v := range []Fault{f.JWKS, f.Discovery} {
		if !v.valid() {
			return fmt.Errorf("stepuptest: unknown fault %d", int32(v))
		}
	}
	iss.faults.Store(&f)
	return nil
}

// applyFault answers r according to f and reports whether it did; false
// means the caller serves the normal response (FaultNone, or FaultSlow once
// the delay has passed). contentType and doc are the endpoint's normal
// content type and document.
func (iss *Issuer) applyFault(w http.ResponseWriter, r *http.Request, f Fault, contentType string, doc func() []byte) bool {
	switch f {
	case Fault500:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"server_error","error_description":"injected fault"}`))
		return true
	case FaultSlow:
		t := time.NewTimer(iss.cfg.slowDelay)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			abort(w)
			return true
		case <-iss.closed:
			abort(w)
			return true
		}
	case FaultGarbage:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"keys":[{"kty":"RSA","n":` + "\x00\xff not json"))
		return true
	case FaultOversized:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		iss.writeOversized(w, r, doc())
		return true
	case FaultDown:
		abort(w)
		return true
	case FaultHTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><p>Please sign in to continue.</p></body></html>\n"))
		return true
	}
	return false
}

// abort closes the connection without a response.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot happen on this HTTP/1.1 server; the closest answer.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	_ = conn.Close()
}

// writeOversized writes doc (a JSON object) padded with a "padding" member
// to oversizedBodySize bytes, in chunks, stopping early if the client goes
// away or the Issuer is closed (even while a write is blocked on a client
// that does not read).
func (iss *Issuer) writeOversized(w http.ResponseWriter, r *http.Request, doc []byte) {
	done, exited := make(chan struct{}), make(chan struct{})
	defer func() { close(done); <-exited }()
	go func() {
		defer close(exited)
		select {
		case <-iss.closed:
			_ = http.NewResponseController(w).SetWriteDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	head := append(bytes.TrimSuffix(bytes.TrimSpace(doc), []byte("}")), `,"padding":"`...)
	const tail = `"}`
	pad := oversizedBodySize - len(head) - len(tail)
	if _, err := w.Write(head); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte("a"), 32<<10)
	for pad > 0 {
		if r.Context().Err() != nil {
			return
		}
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		pad -= n
	}
	_, _ = w.Write([]byte(tail))
}
