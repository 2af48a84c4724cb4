package grpcmw

import (
	"context"
	"errors"
	"io"
	"sync"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepupclient"
)

// UnaryClientStepUp returns a client interceptor that authenticates every
// call with the token of src (authorization metadata "Bearer <token>",
// replacing any the caller set) and follows step-up refusals as
// stepupclient.Transport does over HTTP, by the same decision
// (stepupclient.Source.StepUp): when the server's refusal (ErrorFromStatus)
// is insufficient_user_authentication, insufficient_scope or
// insufficient_claims, src gets a token that meets it and the call is made
// again, at most src.MaxRetries times per call. A unary request message can
// always be sent again.
//
// Errors are those of UnaryClientInterceptor: a refusal is a *claims.Error
// wrapping the status (the last one when the retries are spent); a challenge
// that cannot be followed is a *stepupclient.ChallengeError and a failed
// login a *stepupclient.LoginError, both wrapping nothing of the status.
//
// Tokens go to the connection the interceptor is installed on, whatever
// its target: give each resource server its own Source. DPoP proofs are
// not made over gRPC: a DPoP-bound token is refused by a server that
// checks them. Safe for concurrent use.
func UnaryClientStepUp(src *stepupclient.Source) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		tok, err := src.Token(ctx)
		if err != nil {
			return err
		}
		for stepUps := 0; ; stepUps++ {
			var header, trailer metadata.MD
			all := append(append(make([]grpc.CallOption, 0, len(opts)+2), opts...), grpc.Header(&header), grpc.Trailer(&trailer))
			err := invoker(withToken(ctx, tok), method, req, reply, cc, all...)
			if err == nil {
				return nil
			}
			err = convert(err, header, trailer)
			next, ok, serr := stepUp(ctx, src, tok, err, stepUps)
			if !ok {
				return serr
			}
			tok = next
		}
	}
}

// stepUp is the one decision of both interceptors after a failed attempt
// made with tok (err converted, stepUps retries made so far): the token to
// retry with and true, or false and the error to return.
func stepUp(ctx context.Context, src *stepupclient.Source, tok *oauth2.Token, err error, stepUps int) (*oauth2.Token, bool, error) {
	var ce *claims.Error
	if !errors.As(err, &ce) || stepUps >= src.MaxRetries() {
		return nil, false, err
	}
	next, serr := src.StepUp(ctx, tok, ce)
	switch {
	case errors.Is(serr, stepupclient.ErrNotStepUp):
		return nil, false, err
	case serr != nil:
		return nil, false, serr
	}
	return next, true, nil
}

// withToken returns ctx with the outgoing authorization metadata set to
// tok, replacing the caller's.
func withToken(ctx context.Context, tok *oauth2.Token) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set(authorizationKey, "Bearer "+tok.AccessToken)
	return metadata.NewOutgoingContext(ctx, md)
}

// StreamClientStepUp returns the streaming counterpart of
// UnaryClientStepUp. A stream is opened again with a new token only when
// nothing of it can have reached the application or been lost:
//
//   - the refusal surfaces at Header or RecvMsg (the
//     server interceptors refuse a stream before its handler runs, so the
//     status arrives there) before any message was received, and
//   - either no message has been sent, or exactly one has and CloseSend was
//     called before the refusal: the case of every server-streaming call
//     (the generated client sends the request and closes), and of client-
//     and bidi-streaming calls that sent one message and closed.
//
// The new stream is sent the same message (the interceptor keeps a
// reference to it, as grpc-go may; do not modify a message after
// SendMsg) and CloseSend again, and the failed call returns the new
// stream's result. In every other case (a second message sent, sending not
// closed after one message, something received) the refusal is returned,
// converted to *claims.Error as by StreamClientInterceptor. Retries per
// stream are bounded by src.MaxRetries. Safe for concurrent use; a stream
// keeps grpc-go's rules (one goroutine sending, one receiving).
func StreamClientStepUp(src *stepupclient.Source) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		tok, err := src.Token(ctx)
		if err != nil {
			return nil, err
		}
		s := &stepUpStream{src: src, open: func(tok *oauth2.Token) (grpc.ClientStream, error) {
			return streamer(withToken(ctx, tok), desc, cc, method, opts...)
		}, ctx: ctx, tok: tok}
		for {
			cs, err := s.open(s.tok)
			if err == nil {
				s.cs = cs
				return s, nil
			}
			next, ok, serr := stepUp(ctx, src, s.tok, convert(err, nil, nil), s.stepUps)
			if !ok {
				return nil, serr
			}
			s.tok, s.stepUps = next, s.stepUps+1
		}
	}
}

// stepUpStream is a client stream that can be opened again after a
// step-up refusal, under the rules of StreamClientStepUp.
type stepUpStream struct {
	src  *stepupclient.Source
	open func(tok *oauth2.Token) (grpc.ClientStream, error)
	ctx  context.Context

	mu       sync.Mutex // guards the fields below; held by SendMsg throughout
	cs       grpc.ClientStream
	tok      *oauth2.Token
	stepUps  int
	sent     int // messages sent
	first    any // the first message sent
	closed   bool
	received bool // a message was received: no retry
}

func (s *stepUpStream) stream() grpc.ClientStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cs
}

func (s *stepUpStream) SendMsg(m any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if s.sent == 1 {
		s.first = m
	}
	err := s.cs.SendMsg(m)
	if err == nil || err == io.EOF { // io.EOF: the status comes with RecvMsg
		return err
	}
	return s.convertLocked(err)
}

func (s *stepUpStream) CloseSend() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.cs.CloseSend()
}

func (s *stepUpStream) RecvMsg(m any) error {
	for {
		cs := s.stream()
		err := cs.RecvMsg(m)
		if err == nil {
			s.mu.Lock()
			s.received = true
			s.mu.Unlock()
			return nil
		}
		if err == io.EOF {
			return err
		}
		if retry, rerr := s.retry(cs, err); !retry {
			return rerr
		}
	}
}

func (s *stepUpStream) Header() (metadata.MD, error) {
	for {
		cs := s.stream()
		md, err := cs.Header()
		if err == nil {
			// Not counted as received: a refusal without a response
			// header (trailers only) gives an empty header and no error.
			return md, nil
		}
		if retry, rerr := s.retry(cs, err); !retry {
			return md, rerr
		}
	}
}

func (s *stepUpStream) Trailer() metadata.MD { return s.stream().Trailer() }

func (s *stepUpStream) Context() context.Context { return s.stream().Context() }

// retry decides, after cs failed with err, whether the stream was opened
// again (true) or err, converted, is the answer.
func (s *stepUpStream) retry(cs grpc.ClientStream, err error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs != s.cs { // another caller already replaced it
		return true, nil
	}
	err = s.convertLocked(err)
	if s.received || s.sent > 1 || (s.sent == 1 && !s.closed) {
		return false, err
	}
	next, ok, serr := stepUp(s.ctx, s.src, s.tok, err, s.stepUps)
	if !ok {
		return false, serr
	}
	ns, oerr := s.open(next)
	if oerr != nil {
		return false, convert(oerr, nil, nil)
	}
	if s.sent == 1 {
		if serr := ns.SendMsg(s.first); serr != nil && serr != io.EOF {
			return false, convert(serr, nil, nil)
		}
	}
	if s.closed {
		if cerr := ns.CloseSend(); cerr != nil {
			return false, convert(cerr, nil, nil)
		}
	}
	s.cs, s.tok, s.stepUps = ns, next, s.stepUps+1
	return true, nil
}

// convertLocked converts err of the failed current stream (s.mu held).
func (s *stepUpStream) convertLocked(err error) error {
	header, _ := s.cs.Header()
	return convert(err, header, s.cs.Trailer())
}
