package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// dockerProvider implements the subset of the upstream docker provider this project uses:
// provider configuration and the read-only functions. It manages no resources.
type dockerProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu     sync.Mutex
	host   *pprovider.HostClient // nil in unit tests and until Attach in attach mode
	client *dockerClient         // set by Configure
}

func newProvider(host *pprovider.HostClient) *dockerProvider {
	return &dockerProvider{host: host}
}

// Property maps in and out of the engine. Config inputs keep unknowns (preview) and secrets, so a
// checked input can be handed back with its wrappers intact.
var (
	unmarshalKeep = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true}
	marshalKeep   = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true}
	// Invoke arguments are used as plain values; results carry no wrappers.
	unmarshalPlain = plugin.MarshalOptions{KeepUnknowns: true}
	marshalPlain   = plugin.MarshalOptions{}
)

func (p *dockerProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Handshake states the same protocol features Configure returns.
func (p *dockerProvider) Handshake(_ context.Context, req *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		if err := p.attach(req.GetEngineAddress()); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

// Attach is how the engine reaches a provider started by hand (PULUMI_DEBUG_PROVIDERS).
func (p *dockerProvider) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, p.attach(req.GetAddress())
}

func (p *dockerProvider) attach(addr string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.host != nil {
		return nil
	}
	host, err := pprovider.NewHostClient(addr)
	if err != nil {
		return fmt.Errorf("docker provider: connecting to the engine at %s: %w", addr, err)
	}
	p.host = host
	return nil
}

// CheckConfig validates the provider inputs. The news come back unchanged (the engine restores
// secret wrappers it stripped) except that keyMaterial is always marked secret.
func (p *dockerProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalKeep)
	if err != nil {
		return nil, fmt.Errorf("docker provider: reading configuration: %w", err)
	}
	cfg, failures := configFromProperties(news)
	if len(failures) == 0 {
		failures = cfg.validate()
	}
	if len(failures) > 0 {
		return &pulumirpc.CheckResponse{Failures: toRPCFailures(failures)}, nil
	}
	markSecrets(news)
	inputs, err := plugin.MarshalProperties(news, marshalKeep)
	if err != nil {
		return nil, fmt.Errorf("docker provider: returning configuration: %w", err)
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

func markSecrets(props resource.PropertyMap) {
	for _, k := range secretKeys {
		v, ok := props[resource.PropertyKey(k)]
		if ok && !v.IsNull() && !v.IsSecret() && !v.IsComputed() {
			props[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
}

func toRPCFailures(fs []checkFailure) []*pulumirpc.CheckFailure {
	out := make([]*pulumirpc.CheckFailure, 0, len(fs))
	for _, f := range fs {
		out = append(out, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
	}
	return out
}

// DiffConfig reports which settings changed. Nothing forces a replacement: the plugin owns no
// resources that a new host or new credentials could orphan.
func (p *dockerProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(oldInputsOf(req), unmarshalKeep)
	if err != nil {
		return nil, fmt.Errorf("docker provider: reading old configuration: %w", err)
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalKeep)
	if err != nil {
		return nil, fmt.Errorf("docker provider: reading new configuration: %w", err)
	}
	diffs := diffKeys(olds, news)
	if len(diffs) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: diffs}, nil
}

// oldInputsOf prefers the old inputs (what the user wrote) over the old outputs.
func oldInputsOf(req *pulumirpc.DiffRequest) *structpb.Struct {
	if req.GetOldInputs() != nil {
		return req.GetOldInputs()
	}
	return req.GetOlds()
}

// diffKeys lists the keys whose plain values differ (secretness alone is not a change; an unknown
// new value is).
func diffKeys(olds, news resource.PropertyMap) []string {
	seen := map[string]bool{}
	var diffs []string
	for _, m := range []resource.PropertyMap{olds, news} {
		for k := range m {
			key := string(k)
			if seen[key] || strings.HasPrefix(key, "__") {
				continue
			}
			seen[key] = true
			o, n := unwrap(olds[k]), unwrap(news[k])
			if n.IsComputed() || !o.DeepEquals(n) {
				diffs = append(diffs, key)
			}
		}
	}
	sort.Strings(diffs)
	return diffs
}

// Configure builds the daemon client. The engine sends the config both as typed args and as the
// legacy variables map ("docker:config:host" -> string); args win when present. The daemon is
// not contacted here: a function call is where a bad host or certificate shows, with the host
// in the message.
func (p *dockerProvider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	var cfg providerConfig
	var failures []checkFailure
	if req.GetArgs() != nil {
		args, err := plugin.UnmarshalProperties(req.GetArgs(), unmarshalKeep)
		if err != nil {
			return nil, fmt.Errorf("docker provider: reading configuration: %w", err)
		}
		cfg, failures = configFromProperties(args)
	} else {
		cfg, failures = configFromVariables(req.GetVariables())
	}
	if len(cfg.unknown) > 0 {
		// The engine does not configure with unknown inputs; be explicit should one arrive.
		failures = append(failures, checkFailure{"", "docker provider: configuration has unknown values at Configure"})
	}
	if len(failures) == 0 {
		failures = cfg.validate()
	}
	if len(failures) > 0 {
		return nil, status.Error(codes.InvalidArgument, joinFailures(failures))
	}
	client, err := cfg.client()
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	p.mu.Lock()
	if p.client != nil {
		p.client.close()
	}
	p.client = client
	host := p.host
	p.mu.Unlock()

	if host != nil {
		urn := resource.URN(req.GetUrn())
		if cfg.Context != "" {
			_ = host.Log(ctx, diag.Warning, urn, fmt.Sprintf(
				"docker provider: context %q is ignored by this project's docker plugin; using host %s", cfg.Context, client.display))
		}
		if client.ep.Scheme == "tcp" && !client.secure {
			_ = host.Log(ctx, diag.Warning, urn, fmt.Sprintf(
				"docker provider: %s is used without TLS; anyone on the path can drive this daemon", client.display))
		}
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func joinFailures(fs []checkFailure) string {
	msgs := make([]string, 0, len(fs))
	for _, f := range fs {
		msgs = append(msgs, f.Reason)
	}
	return strings.Join(msgs, "; ")
}

// client turns a validated configuration into a daemon client.
func (c providerConfig) client() (*dockerClient, error) {
	m, failures := c.material()
	if len(failures) > 0 {
		return nil, errors.New(joinFailures(failures))
	}
	ep, err := parseHost(c.effectiveHost(), m.any())
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(m, ep.Host)
	if err != nil {
		return nil, err
	}
	return newDockerClient(ep, tlsCfg), nil
}

// Invoke runs one of the read-only functions against the configured daemon.
func (p *dockerProvider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	fn, ok := functions[req.GetTok()]
	if !ok {
		return nil, status.Errorf(codes.Unimplemented,
			"docker provider: function %s is not implemented by this project's docker plugin (supported: %s)",
			req.GetTok(), strings.Join(supportedFunctions(), ", "))
	}
	p.mu.Lock()
	client := p.client
	p.mu.Unlock()
	if client == nil {
		return nil, status.Error(codes.FailedPrecondition, "docker provider: invoked before the provider was configured")
	}

	args, err := plugin.UnmarshalProperties(req.GetArgs(), unmarshalPlain)
	if err != nil {
		return nil, fmt.Errorf("docker provider: reading %s arguments: %w", req.GetTok(), err)
	}
	for k, v := range args {
		if v.ContainsUnknowns() {
			return nil, status.Errorf(codes.InvalidArgument, "docker provider: %s: argument %s is not known yet", req.GetTok(), k)
		}
	}
	result, err := fn(ctx, client, args)
	if err != nil {
		var ae argError
		if errors.As(err, &ae) {
			return &pulumirpc.InvokeResponse{Failures: toRPCFailures([]checkFailure{ae.checkFailure})}, nil
		}
		return nil, err
	}
	ret, err := plugin.MarshalProperties(result, marshalPlain)
	if err != nil {
		return nil, fmt.Errorf("docker provider: returning %s result: %w", req.GetTok(), err)
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

func supportedFunctions() []string {
	out := make([]string, 0, len(functions))
	for tok := range functions {
		out = append(out, tok)
	}
	sort.Strings(out)
	return out
}

// Resources are out of scope: every resource operation fails the same clear way, starting with
// Check so a program declaring one fails before anything happens.
func notImplemented(typ, urn string) error {
	if typ == "" {
		typ = urnType(urn)
	}
	return status.Errorf(codes.Unimplemented,
		"docker provider: resource type %s is not implemented by this project's docker plugin (it supports provider configuration and the functions %s only)",
		typ, strings.Join(supportedFunctions(), ", "))
}

func urnType(urn string) string {
	if u, err := resource.ParseURN(urn); err == nil {
		return string(u.Type())
	}
	return urn
}

func (p *dockerProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return nil, notImplemented(req.GetType(), req.GetUrn())
}

func (p *dockerProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return nil, notImplemented(req.GetType(), req.GetUrn())
}

func (p *dockerProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	return nil, notImplemented(req.GetType(), req.GetUrn())
}

func (p *dockerProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return nil, notImplemented(req.GetType(), req.GetUrn())
}

func (p *dockerProvider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return nil, notImplemented(req.GetType(), req.GetUrn())
}

func (p *dockerProvider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return nil, notImplemented(req.GetType(), req.GetUrn())
}

// Cancel has nothing to abort beyond in-flight requests, which end with their gRPC contexts.
func (p *dockerProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
