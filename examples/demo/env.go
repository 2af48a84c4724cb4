package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// realm is the realm of the demo APIs' challenges.
const realm = "demo"

// env is the running demo: the issuer, both APIs and the client's
// connections to them.
type env struct {
	iss         *stepuptest.Issuer
	httpURL     string // base URL of the HTTP API, also the resource identifier (audience)
	metadataURL string // its RFC 9728 metadata document
	grpcAddr    string
	hc          *http.Client
	bank        bankpb.BankClient
	admin       bankpb.AdminClient

	cleanup []func() error // run in reverse order by close
}

// start builds and starts everything on 127.0.0.1 with the tables t.
func start(ctx context.Context, t tables) (e *env, err error) {
	e = &env{}
	defer func() {
		if err != nil {
			_ = e.close()
			e = nil
		}
	}()
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.onClose(func() error { _ = hl.Close(); return nil }) // Serve closes it too
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.onClose(func() error { _ = gl.Close(); return nil })
	e.httpURL, e.grpcAddr = "http://"+hl.Addr().String(), gl.Addr().String()

	// The identity provider, minting access tokens for the HTTP API's URL.
	if e.iss, err = app.NewDevIssuer(e.httpURL); err != nil {
		return nil, err
	}
	e.onClose(func() error { e.iss.Close(); return nil })

	// Keys by OpenID Connect discovery; one verifier for both APIs.
	keys, err := jwks.Discover(ctx, e.iss.Issuer())
	if err != nil {
		return nil, err
	}
	e.onClose(keys.Close)
	v, err := verify.New(keys, verify.Config{Issuer: e.iss.Issuer(), Audience: e.httpURL})
	if err != nil {
		return nil, err
	}

	// HTTP API: the route table plus the RFC 9728 document.
	if e.metadataURL, err = httpmw.MetadataURL(e.httpURL); err != nil {
		return nil, err
	}
	metaPath, err := httpmw.MetadataPath(e.httpURL)
	if err != nil {
		return nil, err
	}
	meta, err := httpmw.MetadataHandler(httpmw.ResourceMetadata{
		Resource:               e.httpURL,
		AuthorizationServers:   []string{e.iss.Issuer()},
		ScopesSupported:        []string{"admin"},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "stepup demo bank",
	})
	if err != nil {
		return nil, err
	}
	guard, err := httpmw.New(v, httpmw.WithRealm(realm), httpmw.WithResourceMetadata(e.metadataURL))
	if err != nil {
		return nil, err
	}
	mux, err := guard.Mux(append(slices.Clone(t.http), httpmw.Route{Pattern: "GET " + metaPath, Public: true, Handler: meta}))
	if err != nil {
		return nil, err
	}

	// gRPC API: the method table; unlisted methods are denied.
	methods, err := grpcmw.NewMethods(t.grpc...)
	if err != nil {
		return nil, err
	}
	opts := []grpcmw.Option{grpcmw.WithRealm(realm), grpcmw.WithResourceMetadata(e.metadataURL)}
	interceptors, err := grpcmw.New(v, methods, opts...)
	if err != nil {
		return nil, err
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(interceptors.Unary()),
		grpc.ChainStreamInterceptor(interceptors.Stream()),
	)
	app.RegisterBank(gs, app.NewLedger())

	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 2)
	go func() { served <- app.ServeHTTP(sctx, hl, mux, nil) }()
	go func() { served <- app.ServeGRPC(sctx, gl, gs) }()
	e.onClose(func() error {
		cancel()
		return errors.Join(<-served, <-served)
	})

	// The client side: an HTTP client and a gRPC connection whose
	// interceptors turn refusals into *claims.Error values.
	e.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	e.onClose(func() error { e.hc.CloseIdleConnections(); return nil })
	conn, err := grpc.NewClient(e.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientInterceptor()),
	)
	if err != nil {
		return nil, err
	}
	e.onClose(conn.Close)
	e.bank, e.admin = bankpb.NewBankClient(conn), bankpb.NewAdminClient(conn)
	return e, nil
}

func (e *env) onClose(f func() error) { e.cleanup = append(e.cleanup, f) }

// close stops everything start started, in reverse order.
func (e *env) close() error {
	var errs []error
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, e.cleanup[i]())
	}
	e.cleanup = nil
	return errors.Join(errs...)
}
