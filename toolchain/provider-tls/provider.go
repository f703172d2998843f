package main

// The gRPC surface: decode requests, dispatch by type token to the resource specs, encode
// replies. Secrets and unknowns are kept on the way in and out (see props.go).

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

type tlsProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	version   string
	resources map[string]*resourceSpec
	functions map[string]function
}

func newProvider(version string) *tlsProvider {
	return &tlsProvider{
		version: version,
		resources: map[string]*resourceSpec{
			"tls:index/privateKey:PrivateKey":               privateKeyResource,
			"tls:index/selfSignedCert:SelfSignedCert":       selfSignedCertResource,
			"tls:index/certRequest:CertRequest":             certRequestResource,
			"tls:index/locallySignedCert:LocallySignedCert": locallySignedCertResource,
		},
		functions: map[string]function{
			"tls:index/getPublicKey:getPublicKey": getPublicKey,
		},
	}
}

// spec finds the resource for a request; newer engines send the type, older ones only the URN.
func (p *tlsProvider) spec(typ, urn string) (*resourceSpec, error) {
	if typ == "" {
		typ = string(resource.URN(urn).Type())
	}
	if s, ok := p.resources[typ]; ok {
		return s, nil
	}
	return nil, unknownToken("resource type", typ)
}

func (p *tlsProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

// GetSchema returns a minimal schema: the SDK is already generated, and nothing in a deployment
// needs more than the package identity.
func (p *tlsProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"tls","version":%q}`, p.version)}, nil
}

// Handshake and Configure both advertise secrets support: key material must reach us (and go back
// to the engine) as secrets, never in clear. The provider configuration (an HTTP proxy, used only
// by upstream's getCertificate) is not needed, so CheckConfig/DiffConfig stay unimplemented and the
// engine falls back to its defaults.
func (p *tlsProvider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true}, nil
}

func (p *tlsProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *tlsProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *tlsProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	s, err := p.spec(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "check.news")
	if err != nil {
		return nil, err
	}
	inputs, failures := s.checkInputs(news)
	out, err := marshal(inputs, "check.inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: out, Failures: failures}, nil
}

func (p *tlsProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	s, err := p.spec(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "diff.olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "diff.news")
	if err != nil {
		return nil, err
	}
	return s.diff(olds, news, req.GetIgnoreChanges()), nil
}

func (p *tlsProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	s, err := p.spec(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties(), "create.properties")
	if err != nil {
		return nil, err
	}
	id, outs, err := s.createOutputs(inputs, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := marshal(outs, "create.outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read has nothing external to look at: the state is the resource. Only readyForRenewal, which
// depends on the clock, is recomputed.
func (p *tlsProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	s, err := p.spec(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties(), "read.properties")
	if err != nil {
		return nil, err
	}
	if len(state) == 0 {
		// Import or get() by ID alone: a key or certificate cannot be recovered from its ID.
		return nil, fmt.Errorf("tls resources exist only in the Pulumi state and cannot be imported or read by ID (%s)", req.GetId())
	}
	s.refresh(state)
	inputs := s.inputsOf(state)
	if req.GetInputs() != nil {
		if inputs, err = unmarshal(req.GetInputs(), "read.inputs"); err != nil {
			return nil, err
		}
	}
	outProps, err := marshal(s.protect(state), "read.outputs")
	if err != nil {
		return nil, err
	}
	outInputs, err := marshal(inputs, "read.inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: outProps, Inputs: outInputs}, nil
}

func (p *tlsProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	s, err := p.spec(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), "update.olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "update.news")
	if err != nil {
		return nil, err
	}
	outs, err := marshal(s.updateOutputs(olds, news), "update.outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: outs}, nil
}

// Delete forgets the resource: nothing outside the state was ever created.
func (p *tlsProvider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if _, err := p.spec(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (p *tlsProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	fn, ok := p.functions[req.GetTok()]
	if !ok {
		return nil, unknownToken("function", req.GetTok())
	}
	args, err := unmarshal(req.GetArgs(), "invoke.args")
	if err != nil {
		return nil, err
	}
	result, failures, err := fn(props(args))
	if err != nil {
		return nil, err
	}
	if len(failures) > 0 {
		return &pulumirpc.InvokeResponse{Failures: failures}, nil
	}
	ret, err := marshal(result, "invoke.return")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}
