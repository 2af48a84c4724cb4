package decide

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/stepupauth/stepup/jwks"
)

// The results of a JWKS fetch, as package metrics labels them and package
// otelstepup records them.
const (
	FetchOK              = "ok"               // the set was fetched and parsed
	FetchTimeout         = "timeout"          // the fetch timed out
	FetchNetwork         = "network"          // connection or transport failure
	FetchHTTPStatus      = "http_status"      // the server answered with a status other than 200
	FetchInvalidResponse = "invalid_response" // wrong content type, too large, malformed, no usable key, redirect refused
	FetchFailed          = "error"            // anything else (for example the Remote was closed)
)

// FetchResult classifies the error of a JWKS fetch (jwks.Observer's
// FetchDone) into the fixed result set.
func FetchResult(err error) string {
	if err == nil {
		return FetchOK
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return FetchTimeout
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return FetchNetwork // the server closed the connection
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return FetchTimeout
		}
		return FetchNetwork
	}
	var fe *jwks.FetchError
	if errors.As(err, &fe) {
		if fe.StatusCode != 0 {
			return FetchHTTPStatus
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, jwks.ErrClosed) {
			return FetchFailed
		}
		return FetchInvalidResponse
	}
	return FetchFailed
}
