package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
)

// Limits of the example ledger.
const (
	// MaxTransferCents caps one transfer (one million, in cents).
	MaxTransferCents = 100_000_000
	// DefaultWatchLimit is how many transactions WatchTransactions sends when
	// the request names no limit; MaxWatchLimit caps a larger one.
	DefaultWatchLimit = 10
	MaxWatchLimit     = 100
)

// Demo accounts of a new Ledger and their opening balances, in cents.
var openingBalances = map[string]int64{
	"alice-checking": 250_000,
	"alice-savings":  1_000_000,
	"bob-checking":   50_000,
}

// Ledger is the in-memory bank behind the example gRPC services: a few
// accounts, their transactions and a frozen flag. It is safe for concurrent
// use.
type Ledger struct {
	mu       sync.Mutex
	balances map[string]int64
	frozen   map[string]bool
	history  map[string][]*bankpb.Transaction
	next     int
}

// NewLedger returns a ledger holding the demo accounts alice-checking,
// alice-savings and bob-checking.
func NewLedger() *Ledger {
	l := &Ledger{
		balances: make(map[string]int64, len(openingBalances)),
		frozen:   make(map[string]bool),
		history:  make(map[string][]*bankpb.Transaction),
	}
	for a, c := range openingBalances {
		l.balances[a] = c
	}
	return l
}

// Balance returns the balance of account.
func (l *Ledger) Balance(account string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.balances[account]
	if !ok {
		return 0, status.Errorf(codes.NotFound, "no account %q", account)
	}
	return c, nil
}

// Transfer moves cents from one account to another and returns the
// transaction id. Errors are gRPC statuses: InvalidArgument for a bad
// request, NotFound for an unknown account, FailedPrecondition for a frozen
// account or insufficient funds.
func (l *Ledger) Transfer(from, to string, cents int64) (string, error) {
	switch {
	case from == "" || to == "":
		return "", status.Error(codes.InvalidArgument, "from and to are required")
	case from == to:
		return "", status.Error(codes.InvalidArgument, "from and to must differ")
	case cents <= 0 || cents > MaxTransferCents:
		return "", status.Errorf(codes.InvalidArgument, "cents must be between 1 and %d", MaxTransferCents)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range []string{from, to} {
		if _, ok := l.balances[a]; !ok {
			return "", status.Errorf(codes.NotFound, "no account %q", a)
		}
		if l.frozen[a] {
			return "", status.Errorf(codes.FailedPrecondition, "account %q is frozen", a)
		}
	}
	if l.balances[from] < cents {
		return "", status.Errorf(codes.FailedPrecondition, "insufficient funds in %q", from)
	}
	l.next++
	id := fmt.Sprintf("tx-%06d", l.next)
	l.balances[from] -= cents
	l.balances[to] += cents
	l.history[from] = append(l.history[from], &bankpb.Transaction{Id: id, Cents: -cents})
	l.history[to] = append(l.history[to], &bankpb.Transaction{Id: id, Cents: cents})
	return id, nil
}

// Transactions returns up to limit of the account's most recent
// transactions, oldest first.
func (l *Ledger) Transactions(account string, limit int) ([]*bankpb.Transaction, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.balances[account]; !ok {
		return nil, status.Errorf(codes.NotFound, "no account %q", account)
	}
	h := l.history[account]
	if len(h) > limit {
		h = h[len(h)-limit:]
	}
	out := make([]*bankpb.Transaction, len(h))
	for i, t := range h {
		out[i] = &bankpb.Transaction{Id: t.GetId(), Cents: t.GetCents()}
	}
	return out, nil
}

// Freeze blocks every further transfer from or to account.
func (l *Ledger) Freeze(account string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.balances[account]; !ok {
		return status.Errorf(codes.NotFound, "no account %q", account)
	}
	l.frozen[account] = true
	return nil
}

// Bank implements bankpb.BankServer on a Ledger. Its handlers read the caller
// with claims.FromContext: the interceptors of package grpcmw put the
// verified claims there. Methods that move money refuse a call without
// verified claims (a method the policy made public) with Unauthenticated,
// failing closed; read-only methods answer it as "anonymous".
type Bank struct {
	bankpb.UnimplementedBankServer
	Ledger *Ledger
}

// Admin implements bankpb.AdminServer on a Ledger; FreezeAccount needs
// verified claims, like the money-moving methods of Bank.
type Admin struct {
	bankpb.UnimplementedAdminServer
	Ledger *Ledger
}

// errNoCaller is the answer of a money-moving handler reached without
// verified claims.
var errNoCaller = status.Error(codes.Unauthenticated, "this method needs a verified caller")

// caller returns the verified claims of ctx, or an error when there are none.
func caller(ctx context.Context) (*claims.Claims, error) {
	c, ok := claims.FromContext(ctx)
	if !ok || c == nil {
		return nil, errNoCaller
	}
	return c, nil
}

// callerName is the subject of the verified caller, "anonymous" without
// one.
func callerName(ctx context.Context) string {
	if c, ok := claims.FromContext(ctx); ok && c != nil {
		return c.Subject
	}
	return "anonymous"
}

// GetBalance answers the balance of an account.
func (b *Bank) GetBalance(ctx context.Context, req *bankpb.GetBalanceRequest) (*bankpb.Balance, error) {
	cents, err := b.Ledger.Balance(req.GetAccount())
	if err != nil {
		return nil, err
	}
	return &bankpb.Balance{Account: req.GetAccount(), Cents: cents, Caller: callerName(ctx)}, nil
}

// Transfer moves money and answers the receipt, naming the caller and the
// acr of its login.
func (b *Bank) Transfer(ctx context.Context, req *bankpb.TransferRequest) (*bankpb.TransferReceipt, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return b.transfer(c, req)
}

func (b *Bank) transfer(c *claims.Claims, req *bankpb.TransferRequest) (*bankpb.TransferReceipt, error) {
	id, err := b.Ledger.Transfer(req.GetFrom(), req.GetTo(), req.GetCents())
	if err != nil {
		return nil, err
	}
	return &bankpb.TransferReceipt{Id: id, Cents: req.GetCents(), Caller: c.Subject, Acr: c.ACR}, nil
}

// WatchTransactions streams the account's most recent transactions, oldest
// first, then ends the stream.
func (b *Bank) WatchTransactions(req *bankpb.WatchTransactionsRequest, stream grpc.ServerStreamingServer[bankpb.Transaction]) error {
	limit := int(req.GetLimit())
	switch {
	case limit < 0:
		return status.Error(codes.InvalidArgument, "limit must not be negative")
	case limit == 0:
		limit = DefaultWatchLimit
	case limit > MaxWatchLimit:
		limit = MaxWatchLimit
	}
	txs, err := b.Ledger.Transactions(req.GetAccount(), limit)
	if err != nil {
		return err
	}
	for _, t := range txs {
		if err := stream.Send(t); err != nil {
			return err
		}
	}
	return nil
}

// UploadTransfers applies every transfer of the stream, stopping at the
// first that fails, and answers how many were applied.
func (b *Bank) UploadTransfers(stream grpc.ClientStreamingServer[bankpb.TransferRequest, bankpb.BatchReceipt]) error {
	c, err := caller(stream.Context())
	if err != nil {
		return err
	}
	var receipt bankpb.BatchReceipt
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&receipt)
		}
		if err != nil {
			return err
		}
		if _, err := b.transfer(c, req); err != nil {
			return err
		}
		receipt.Count++
		receipt.TotalCents += req.GetCents()
	}
}

// TransferSession applies each transfer as it arrives and answers its
// receipt; the first failing transfer ends the stream with its error.
func (b *Bank) TransferSession(stream grpc.BidiStreamingServer[bankpb.TransferRequest, bankpb.TransferReceipt]) error {
	c, err := caller(stream.Context())
	if err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		receipt, err := b.transfer(c, req)
		if err != nil {
			return err
		}
		if err := stream.Send(receipt); err != nil {
			return err
		}
	}
}

// FreezeAccount blocks an account.
func (a *Admin) FreezeAccount(ctx context.Context, req *bankpb.FreezeAccountRequest) (*bankpb.FreezeAccountResponse, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	if err := a.Ledger.Freeze(req.GetAccount()); err != nil {
		return nil, err
	}
	return &bankpb.FreezeAccountResponse{Frozen: true}, nil
}

// RegisterBank registers the Bank and Admin services, sharing ledger, on s.
func RegisterBank(s grpc.ServiceRegistrar, ledger *Ledger) {
	bankpb.RegisterBankServer(s, &Bank{Ledger: ledger})
	bankpb.RegisterAdminServer(s, &Admin{Ledger: ledger})
}
