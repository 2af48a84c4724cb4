// Package conformance holds only tests: one table of requests run through
// both transports, httpmw and grpcmw, asserting that they read the same
// token from the same Authorization value and answer every error code with
// corresponding statuses (HTTP 400 / 401 / 403, gRPC InvalidArgument /
// Unauthenticated / PermissionDenied).
package conformance
