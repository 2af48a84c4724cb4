package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

// The Any types the Envoy configuration names must be linked in for
// protojson to resolve them.
var (
	_ = routerv3.Router{}
	_ = httpv3.HttpProtocolOptions{}
)

// TestEnvoyConfig checks deploy/envoy.yaml (the README's) against
// go-control-plane's types: it must parse as a Bootstrap with no unknown
// field, pass the types' validation, and send every request of its
// listener through ext_authz v3 over gRPC to a cluster speaking HTTP/2,
// failing closed, before the router.
func TestEnvoyConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("deploy", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var boot bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &boot); err != nil {
		t.Fatalf("not an Envoy v3 bootstrap: %v", err)
	}
	if err := boot.ValidateAll(); err != nil {
		t.Fatalf("validation: %v", err)
	}
	listeners := boot.GetStaticResources().GetListeners()
	if len(listeners) != 1 || len(listeners[0].GetFilterChains()) != 1 {
		t.Fatalf("want one listener with one filter chain, got %v", listeners)
	}
	filters := listeners[0].GetFilterChains()[0].GetFilters()
	if len(filters) != 1 {
		t.Fatalf("want the HTTP connection manager only, got %d filters", len(filters))
	}
	var hcm hcmv3.HttpConnectionManager
	if err := filters[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	if err := hcm.ValidateAll(); err != nil {
		t.Fatal(err)
	}
	hf := hcm.GetHttpFilters()
	if len(hf) != 2 || hf[0].GetName() != "envoy.filters.http.ext_authz" || hf[1].GetName() != "envoy.filters.http.router" {
		t.Fatalf("http filters: want ext_authz then router, got %v", hf)
	}
	var ea extauthzv3.ExtAuthz
	if err := hf[0].GetTypedConfig().UnmarshalTo(&ea); err != nil {
		t.Fatal(err)
	}
	if err := ea.ValidateAll(); err != nil {
		t.Fatal(err)
	}
	cluster := ea.GetGrpcService().GetEnvoyGrpc().GetClusterName()
	switch {
	case ea.GetTransportApiVersion() != corev3.ApiVersion_V3:
		t.Errorf("transport_api_version: %v, want V3", ea.GetTransportApiVersion())
	case cluster != "stepup_authz":
		t.Errorf("grpc_service: cluster %q, want stepup_authz (an http_service would not be ext_authz gRPC)", cluster)
	case ea.GetFailureModeAllow():
		t.Error("failure_mode_allow: true lets requests by when stepup authz is down")
	case ea.GetStatusOnError().GetCode() != typev3.StatusCode_ServiceUnavailable:
		t.Errorf("status_on_error: %v, want 503", ea.GetStatusOnError())
	case !ea.GetIncludePeerCertificate():
		t.Error("include_peer_certificate: false, certificate-bound tokens would be refused")
	case !ea.GetEncodeRawHeaders():
		t.Error("encode_raw_headers: false, repeated headers would be joined")
	case ea.GetWithRequestBody() != nil:
		t.Error("with_request_body: stepup authz reads no body")
	}
	var found bool
	for _, c := range boot.GetStaticResources().GetClusters() {
		if c.GetName() != cluster {
			continue
		}
		found = true
		var opts httpv3.HttpProtocolOptions
		a := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
		if a == nil || a.UnmarshalTo(&opts) != nil || opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
			t.Errorf("cluster %s does not speak HTTP/2 (gRPC needs it)", cluster)
		}
		eps := c.GetLoadAssignment().GetEndpoints()
		if len(eps) != 1 || eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue() != 9001 {
			t.Errorf("cluster %s: endpoints %v, want port 9001 as the comment says", cluster, eps)
		}
	}
	if !found {
		t.Errorf("no cluster %q", cluster)
	}
}

// TestDeployConfigsInREADME wants every file of deploy/ verbatim in the
// root README, so that the configurations people copy are the tested ones.
func TestDeployConfigsInREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("deploy", "*"))
	if err != nil || len(files) != 5 {
		t.Fatalf("deploy files: %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readme, append(append([]byte("\n"), b...), "```"...)) {
			t.Errorf("README.md does not hold %s as it is", f)
		}
	}
}
