package grpcmw_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/stepupauth/stepup/grpcmw"
)

// FuzzErrorFromStatus feeds ErrorFromStatus what any server may send: a
// status (code, message, details) as its wire bytes, and www-authenticate
// metadata. It must never panic, and a result must be a rejection of a
// code the status can carry, wrapping the status.
func FuzzErrorFromStatus(f *testing.F) {
	seed := func(code codes.Code, reason string, md map[string]string) []byte {
		info, _ := anypb.New(&errdetails.ErrorInfo{Reason: reason, Domain: grpcmw.ErrorDomain, Metadata: md})
		b, _ := proto.Marshal(&spb.Status{Code: int32(code), Message: "m", Details: []*anypb.Any{info}})
		return b
	}
	f.Add(uint32(codes.Unauthenticated), `Bearer error="insufficient_user_authentication", acr_values="a b", max_age=300`, []byte(nil))
	f.Add(uint32(codes.Unauthenticated), `Bearer realm="x", error="invalid_token"`, seed(codes.Unauthenticated, "INVALID_TOKEN", nil))
	f.Add(uint32(codes.PermissionDenied), "", seed(codes.PermissionDenied, "INSUFFICIENT_SCOPE", map[string]string{"scope": "a b"}))
	f.Add(uint32(codes.Unauthenticated), "", seed(codes.Unauthenticated, "INSUFFICIENT_USER_AUTHENTICATION", map[string]string{"maxAge": "99999999999999999999", "acrValues": " "}))
	f.Add(uint32(codes.Unauthenticated), "", seed(codes.Unauthenticated, "INSUFFICIENT_CLAIMS", map[string]string{"claims": "e30=", "authorizationUri": "https://x"}))
	f.Add(uint32(codes.InvalidArgument), `Basic realm="x", Bearer error=`, []byte{0x0a, 0xff})
	f.Add(uint32(codes.Unavailable), `Bearer`, []byte("garbage"))
	f.Fuzz(func(t *testing.T, code uint32, wwwAuth string, statusBytes []byte) {
		var sp spb.Status
		if err := proto.Unmarshal(statusBytes, &sp); err != nil {
			sp.Reset()
		}
		sp.Code = int32(code % 17)
		st := status.FromProto(&sp)
		var md metadata.MD
		if wwwAuth != "" {
			md = metadata.Pairs(grpcmw.WWWAuthenticateKey, wwwAuth)
		}
		ce := grpcmw.ErrorFromStatus(st, md)
		if ce == nil {
			return
		}
		switch st.Code() {
		case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
		default:
			t.Fatalf("ErrorFromStatus(%v) = %v for a status it must not consider", st.Code(), ce)
		}
		if status.Code(ce.Err) != st.Code() {
			t.Fatalf("ErrorFromStatus: Err %v does not carry code %v", ce.Err, st.Code())
		}
		// time.Duration holds at most 9223372036 seconds.
		if secs, ok := ce.MaxAge.Seconds(); ok && (secs < 0 || secs > 9223372036) {
			t.Fatalf("ErrorFromStatus: MaxAge %d s out of range", secs)
		}
		_ = ce.Challenge().String() // renders without a panic
	})
}
