package grpcmw

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
)

// UnaryClientInterceptor returns a client interceptor that turns the
// rejections of the server interceptors into *claims.Error values carrying
// the challenge's Code, ACRValues, MaxAge and Scope (see ErrorFromStatus), so
// that the application can errors.As them, log in again with those
// acr_values and max_age, and retry. Other errors, including Unavailable,
// are returned unchanged. The *claims.Error wraps the status error:
// status.Code still reports the gRPC code.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		var header, trailer metadata.MD
		all := make([]grpc.CallOption, 0, len(opts)+2)
		all = append(all, opts...)
		all = append(all, grpc.Header(&header), grpc.Trailer(&trailer))
		err := invoker(ctx, method, req, reply, cc, all...)
		if err == nil {
			return nil
		}
		return convert(err, header, trailer)
	}
}

// StreamClientInterceptor returns the streaming counterpart of
// UnaryClientInterceptor. A stream's rejection surfaces where gRPC reports
// it, on RecvMsg (Recv, CloseAndRecv) or Header, and is converted there.
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, convert(err, nil, nil)
		}
		return &clientStream{ClientStream: cs}, nil
	}
}

// clientStream converts the errors of a grpc.ClientStream.
type clientStream struct {
	grpc.ClientStream
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil || err == io.EOF {
		return err
	}
	return s.convert(err)
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil || err == io.EOF { // io.EOF: the status comes with RecvMsg
		return err
	}
	return s.convert(err)
}

func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil {
		return md, convert(err, md, s.ClientStream.Trailer())
	}
	return md, nil
}

// convert is called once the stream has failed, when Header and Trailer
// no longer block.
func (s *clientStream) convert(err error) error {
	header, _ := s.ClientStream.Header()
	return convert(err, header, s.ClientStream.Trailer())
}

// convert returns the *claims.Error err stands for, wrapping err, or err.
func convert(err error, header, trailer metadata.MD) error {
	var already *claims.Error
	if errors.As(err, &already) {
		return err // converted by another interceptor of the chain
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	ce := ErrorFromStatus(st, metadata.Join(header, trailer))
	if ce == nil {
		return err
	}
	ce.Err = err
	return ce
}
