package interop

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/stepupauth/stepup/grpcmw"
)

// The bank.v1 API of examples/internal/bankpb. Its generated code is
// internal to the stepup module, so this client writes and reads the few
// messages it needs with protowire, through rawCodec.
const (
	methodGetBalance = "/bank.v1.Bank/GetBalance"
	methodTransfer   = "/bank.v1.Bank/Transfer"
)

// rawMessage is a protobuf message in wire format.
type rawMessage struct{ b []byte }

// rawCodec passes rawMessage bytes through. Its name is "proto", so the
// server decodes with its generated messages as usual.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	m.b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// dialGRPC connects to addr in plaintext with grpcmw's client interceptor,
// which turns the server's challenges into *claims.Error values.
func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientInterceptor()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// fields is a decoded message: field number -> string or integer value
// (the bank messages have scalar fields only).
type fields map[protowire.Number]any

// invoke calls a unary method with token as bearer credentials.
func invoke(ctx context.Context, cc *grpc.ClientConn, method, token string, req []byte) (fields, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	var resp rawMessage
	if err := cc.Invoke(ctx, method, &rawMessage{b: req}, &resp); err != nil {
		return nil, err
	}
	return decodeFields(resp.b)
}

// getBalanceRequest is bank.v1.GetBalanceRequest{account}.
func getBalanceRequest(account string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), account)
}

// transferRequest is bank.v1.TransferRequest{from, to, cents}.
func transferRequest(from, to string, cents int64) []byte {
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), from)
	b = protowire.AppendString(protowire.AppendTag(b, 2, protowire.BytesType), to)
	return protowire.AppendVarint(protowire.AppendTag(b, 3, protowire.VarintType), uint64(cents))
}

func decodeFields(b []byte) (fields, error) {
	f := fields{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeString(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			f[num], b = v, b[m:]
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			f[num], b = int64(v), b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			b = b[m:]
		}
	}
	return f, nil
}

// receipt is bank.v1.TransferReceipt.
type receipt struct {
	ID     string
	Cents  int64
	Caller string
	ACR    string
}

func receiptOf(f fields) receipt {
	var r receipt
	r.ID, _ = f[1].(string)
	r.Cents, _ = f[2].(int64)
	r.Caller, _ = f[3].(string)
	r.ACR, _ = f[4].(string)
	return r
}
