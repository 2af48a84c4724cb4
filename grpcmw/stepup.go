package grpcmw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/clientnonce"
	"github.com/stepupauth/stepup/stepupclient"
)

// ClientOption configures UnaryClientStepUp and StreamClientStepUp.
type ClientOption func(*stepUpClient)

// WithClientDPoP makes the step-up interceptors present the tokens of a
// Source with a DPoP key (stepupclient.Config.DPoP) as WithDPoP checks
// them: authorization metadata "DPoP <token>" and, in the dpop metadata, a
// fresh proof with htm POST, htu publicURL followed by the full method, ath
// and the server's latest nonce. A use_dpop_nonce refusal is tried again
// once per token with its dpop-nonce metadata (never with the nonce just
// refused), and every dpop-nonce the server sends is kept for the next
// proofs (RFC 9449 §8, §9). publicURL is the server's, as given to its
// WithDPoP: https (http for a loopback host), no fragment. A token of type
// "Bearer" is still sent as a bearer token. Without this option tokens go
// as Bearer, without proof.
//
// The interceptor constructors panic on a bad publicURL or a Source
// without a DPoP key: a configuration error, caught at start-up.
func WithClientDPoP(publicURL string) ClientOption {
	return func(c *stepUpClient) { c.publicURL, c.dpopSet = publicURL, true }
}

// stepUpClient is the shared state of one pair of step-up interceptors.
type stepUpClient struct {
	src       *stepupclient.Source
	dpopSet   bool
	publicURL string
	nonces    clientnonce.Store
}

func newStepUpClient(src *stepupclient.Source, opts []ClientOption) *stepUpClient {
	if src == nil {
		panic("grpcmw: step-up client interceptor: nil *stepupclient.Source")
	}
	c := &stepUpClient{src: src}
	for _, o := range opts {
		o(c)
	}
	if c.dpopSet {
		if err := answer.CheckURL(c.publicURL, false); err != nil {
			panic(fmt.Sprintf("grpcmw: WithClientDPoP(%q): %v", c.publicURL, err))
		}
		c.publicURL = strings.TrimSuffix(c.publicURL, "/")
		if _, err := src.DPoPProof("POST", c.publicURL+"/", "", ""); err != nil {
			panic("grpcmw: WithClientDPoP: " + err.Error())
		}
	}
	return c
}

// attempt is the state of one call across its tries.
type attempt struct {
	tok        *oauth2.Token
	dpop       bool   // the last try carried a proof
	sentNonce  string // the nonce of that proof
	nonceTried bool   // the current token had its nonce retry
	stepUps    int
}

// authorize returns ctx with the outgoing authorization metadata (and
// proof) of a's token for method, replacing the caller's.
func (c *stepUpClient) authorize(ctx context.Context, method string, a *attempt) (context.Context, error) {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	a.dpop, a.sentNonce = c.dpopSet && !strings.EqualFold(a.tok.TokenType, "bearer"), ""
	if !a.dpop {
		md.Set(authorizationKey, "Bearer "+a.tok.AccessToken)
		md.Delete(dpopKey)
		return metadata.NewOutgoingContext(ctx, md), nil
	}
	a.sentNonce = c.nonces.Get()
	proof, err := c.src.DPoPProof("POST", c.publicURL+method, a.tok.AccessToken, a.sentNonce)
	if err != nil {
		return nil, err
	}
	md.Set(authorizationKey, "DPoP "+a.tok.AccessToken)
	md.Set(dpopKey, proof)
	return metadata.NewOutgoingContext(ctx, md), nil
}

// next is the one decision of both interceptors after a try of a failed
// with err (converted by convert) and response metadata md: true to try
// again (a updated), or false and the error to return. A step-up refusal is
// followed by Source.StepUp (the decision of the HTTP Transport), at most
// Source.MaxRetries times; a use_dpop_nonce one by clientnonce, as the
// Transport does.
func (c *stepUpClient) next(ctx context.Context, a *attempt, err error, md metadata.MD) (bool, error) {
	nonce := ""
	if v := md.Get(dpopNonceKey); len(v) > 0 {
		nonce = v[0]
	}
	if c.dpopSet {
		c.nonces.Offer(nonce)
	}
	var ce *claims.Error
	if !errors.As(err, &ce) {
		return false, err
	}
	if ce.Code == claims.CodeUseDPoPNonce {
		if !a.dpop {
			return false, err
		}
		retry, ferr := c.nonces.Follow(nonce, a.sentNonce, a.nonceTried)
		if ferr != nil {
			return false, &stepupclient.ChallengeError{Msg: "use_dpop_nonce without a valid dpop-nonce metadata value"}
		}
		a.nonceTried = a.nonceTried || retry
		return retry, err
	}
	if a.stepUps >= c.src.MaxRetries() {
		return false, err
	}
	tok, serr := c.src.StepUp(ctx, a.tok, ce)
	switch {
	case errors.Is(serr, stepupclient.ErrNotStepUp):
		return false, err
	case serr != nil:
		return false, serr
	}
	a.tok, a.stepUps, a.nonceTried = tok, a.stepUps+1, false
	return true, nil
}

// UnaryClientStepUp returns a client interceptor that authenticates every
// call with the token of src (authorization metadata "Bearer <token>",
// replacing any the caller set; with WithClientDPoP, "DPoP <token>" and a
// proof) and follows step-up refusals as stepupclient.Transport does over
// HTTP, by the same decision (stepupclient.Source.StepUp): when the
// server's refusal (ErrorFromStatus) is insufficient_user_authentication,
// insufficient_scope or insufficient_claims, src gets a token that meets
// it and the call is made again, at most src.MaxRetries times per call. A
// unary request message can always be sent again.
//
// Errors are those of UnaryClientInterceptor: a refusal is a *claims.Error
// wrapping the status (the last one when the retries are spent); a challenge
// that cannot be followed is a *stepupclient.ChallengeError and a failed
// login a *stepupclient.LoginError.
//
// Tokens go to the connection the interceptor is installed on, whatever
// its target: give each resource server its own Source. It panics on a nil
// src and on a bad WithClientDPoP. Safe for concurrent use.
func UnaryClientStepUp(src *stepupclient.Source, opts ...ClientOption) grpc.UnaryClientInterceptor {
	c := newStepUpClient(src, opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		tok, err := src.Token(ctx)
		if err != nil {
			return err
		}
		a := &attempt{tok: tok}
		for {
			actx, err := c.authorize(ctx, method, a)
			if err != nil {
				return err
			}
			var header, trailer metadata.MD
			all := append(append(make([]grpc.CallOption, 0, len(callOpts)+2), callOpts...), grpc.Header(&header), grpc.Trailer(&trailer))
			err = invoker(actx, method, req, reply, cc, all...)
			if err == nil {
				return nil
			}
			md := metadata.Join(header, trailer)
			if retry, rerr := c.next(ctx, a, convert(err, header, trailer), md); !retry {
				return rerr
			}
		}
	}
}

// StreamClientStepUp returns the streaming counterpart of
// UnaryClientStepUp. A stream is opened again (with a new token, or with
// the nonce of a use_dpop_nonce refusal) only when nothing of it can have
// reached the application or been lost:
//
//   - the refusal surfaces at Header or RecvMsg (the server interceptors
//     refuse a stream before its handler runs, so the status arrives there)
//     before any message was received, and
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
// stream are bounded as for a unary call. Safe for concurrent use; a stream
// keeps grpc-go's rules (one goroutine sending, one receiving).
func StreamClientStepUp(src *stepupclient.Source, opts ...ClientOption) grpc.StreamClientInterceptor {
	c := newStepUpClient(src, opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		tok, err := src.Token(ctx)
		if err != nil {
			return nil, err
		}
		s := &stepUpStream{c: c, ctx: ctx, att: attempt{tok: tok}}
		s.open = func() (grpc.ClientStream, error) {
			actx, err := c.authorize(ctx, method, &s.att)
			if err != nil {
				return nil, err
			}
			return streamer(actx, desc, cc, method, callOpts...)
		}
		for {
			cs, err := s.open()
			if err == nil {
				s.cs = cs
				return s, nil
			}
			if retry, rerr := c.next(ctx, &s.att, convert(err, nil, nil), nil); !retry {
				return nil, rerr
			}
		}
	}
}

// stepUpStream is a client stream that can be opened again after a
// refusal, under the rules of StreamClientStepUp.
type stepUpStream struct {
	c    *stepUpClient
	ctx  context.Context
	open func() (grpc.ClientStream, error) // with att's token

	mu       sync.Mutex // guards the fields below; never held across a blocking send or receive
	cs       grpc.ClientStream
	att      attempt
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

// SendMsg counts m before sending it, so that a concurrent retry sees it
// and keeps the stream (a message may be on its way); it does not hold
// s.mu while the send blocks on flow control, so that RecvMsg can drain
// the server meanwhile.
func (s *stepUpStream) SendMsg(m any) error {
	s.mu.Lock()
	s.sent++
	if s.sent == 1 {
		s.first = m
	}
	cs := s.cs
	s.mu.Unlock()
	err := cs.SendMsg(m)
	if err == nil || err == io.EOF { // io.EOF: the status comes with RecvMsg
		return err
	}
	header, _ := cs.Header()
	return convert(err, header, cs.Trailer())
}

func (s *stepUpStream) CloseSend() error {
	s.mu.Lock()
	s.closed = true
	cs := s.cs
	s.mu.Unlock()
	return cs.CloseSend()
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
	header, _ := s.cs.Header()
	trailer := s.cs.Trailer()
	err = convert(err, header, trailer)
	if s.received || s.sent > 1 || (s.sent == 1 && !s.closed) {
		return false, err
	}
	if retry, rerr := s.c.next(s.ctx, &s.att, err, metadata.Join(header, trailer)); !retry {
		return false, rerr
	}
	ns, oerr := s.open()
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
	s.cs = ns
	return true, nil
}
