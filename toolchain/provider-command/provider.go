package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// commandProvider implements the engine's resource provider protocol for the
// command package. It keeps no state between calls beyond a cancellation
// context: everything a step needs is in the request.
type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	version string
	logger  engineLogger

	// cancelled is closed by Cancel, which the engine sends when the user
	// interrupts `pulumi up`; running commands are then killed.
	cancelled context.Context
	cancelAll context.CancelFunc

	// runners by token; tests substitute them.
	runners map[string]func(urn resource.URN) runner
}

func newCommandProvider(version string, logger engineLogger) *commandProvider {
	if logger == nil {
		logger = discardLogger{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &commandProvider{version: version, logger: logger, cancelled: ctx, cancelAll: cancel}
	p.runners = map[string]func(resource.URN) runner{
		tokenLocalCommand:  func(resource.URN) runner { return runLocal },
		tokenLocalRun:      func(resource.URN) runner { return runLocal },
		tokenRemoteCommand: p.remoteRunner,
	}
	return p
}

func isCommandResource(token string) bool {
	return token == tokenLocalCommand || token == tokenRemoteCommand
}

// resourceToken prefers the request's type and falls back to the URN, which
// older engines send alone.
func resourceToken(typ, urn string) string {
	if typ != "" {
		return typ
	}
	if u := resource.URN(urn); u.IsValid() {
		return string(u.Type())
	}
	return ""
}

// commandToken is the resource's token, or the error for a type this plugin does not serve.
func commandToken(typ, urn string) (string, error) {
	token := resourceToken(typ, urn)
	if !isCommandResource(token) {
		return "", unknownType(token)
	}
	return token, nil
}

// unmarshalOldsNews decodes the previous and the new inputs (Diff and Update).
func unmarshalOldsNews(olds, news *structpb.Struct) (resource.PropertyMap, resource.PropertyMap, error) {
	o, err := unmarshalProps(olds, "olds")
	if err != nil {
		return nil, nil, err
	}
	n, err := unmarshalProps(news, "news")
	return o, n, err
}

func unknownType(token string) error {
	return status.Errorf(codes.InvalidArgument,
		"unknown resource type %q: this command provider implements %s and %s", token, tokenLocalCommand, tokenRemoteCommand)
}

// stepContext bounds one operation by the request, the engine's custom
// timeout (seconds, 0 for none) and a provider-wide Cancel.
func (p *commandProvider) stepContext(ctx context.Context, timeout float64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(p.cancelled, cancel)
	if timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, time.Duration(timeout*float64(time.Second)))
		return ctx, func() { cancelTimeout(); stop(); cancel() }
	}
	return ctx, func() { stop(); cancel() }
}

// ---- provider configuration ------------------------------------------------

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *commandProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON(p.version)}, nil
}

// The provider takes no configuration.
func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

// Configure announces that secrets are understood (so they arrive marked and
// can be returned marked) and that Create/Update accept preview=true.
func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancelAll()
	return &emptypb.Empty{}, nil
}

// ---- resources ----------------------------------------------------------------

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	token, err := commandToken(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshalProps(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.CheckResponse{Inputs: req.GetNews()}
	if _, err := parseCommandSpec(token, news); err != nil {
		var bad *inputError
		if errors.As(err, &bad) {
			resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: bad.property, Reason: bad.reason})
		} else {
			return nil, err
		}
	}
	return resp, nil
}

// Diff compares the previous inputs (kept in the state) with the new ones. A
// change to triggers replaces the resource, as documented; any other input
// change is an update, which runs `update` (or `create` when there is no
// update command). Secret markers alone are not a change: re-running a
// command because a value became secret would be surprising.
func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if _, err := commandToken(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	olds, news, err := unmarshalOldsNews(req.GetOlds(), req.GetNews())
	if err != nil {
		return nil, err
	}
	return diffInputs(olds, news), nil
}

// replaceKind turns a change into the same change that forces replacement.
var replaceKind = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

func diffInputs(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	var changed []string
	for k := range keys {
		if outputOnlyKeys[k] {
			continue
		}
		oldV, hadOld := olds[k]
		newV, hasNew := news[k]
		hadOld = hadOld && !oldV.IsNull()
		hasNew = hasNew && !newV.IsNull()
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !hadOld && !hasNew:
			continue
		case !hadOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case newV.ContainsUnknowns():
			kind = pulumirpc.PropertyDiff_UPDATE // not known yet: assume it changes
		case reveal(oldV).DeepEquals(reveal(newV)):
			continue
		default:
			kind = pulumirpc.PropertyDiff_UPDATE
		}
		if k == "triggers" {
			kind = replaceKind[kind]
			resp.Replaces = append(resp.Replaces, string(k))
		}
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		changed = append(changed, string(k))
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		resp.Diffs = changed
	}
	return resp
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	token, err := commandToken(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshalProps(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		// Nothing runs during a preview; the output is unknown until then.
		outs, err := marshalProps(commandOutputs(inputs, unknownString(), unknownString()), "outputs")
		return &pulumirpc.CreateResponse{Properties: outs}, err
	}
	spec, err := parseCommandSpec(token, inputs)
	if err != nil {
		return nil, err
	}
	ctx, cancel := p.stepContext(ctx, req.GetTimeout())
	defer cancel()
	urn := resource.URN(req.GetUrn())
	stdout, stderr, err := p.run(ctx, urn, spec, "create", spec.create, nil)
	if err != nil {
		return nil, err
	}
	outs, err := marshalProps(commandOutputs(inputs, stdout, stderr), "outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: newID(req.GetName(), urn), Properties: outs}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	token, err := commandToken(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, news, err := unmarshalOldsNews(req.GetOlds(), req.GetNews())
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		outs, err := marshalProps(commandOutputs(news, unknownString(), unknownString()), "outputs")
		return &pulumirpc.UpdateResponse{Properties: outs}, err
	}
	spec, err := parseCommandSpec(token, news)
	if err != nil {
		return nil, err
	}
	which, command := "update", spec.update
	if command == "" {
		which, command = "create", spec.create // documented fallback
	}
	var stdout, stderr resource.PropertyValue
	if command == "" {
		// Nothing to run: keep what the last run printed.
		prev := previousOutputOf(olds)
		stdout, stderr = resource.NewStringProperty(prev.stdout), resource.NewStringProperty(prev.stderr)
	} else {
		ctx, cancel := p.stepContext(ctx, req.GetTimeout())
		defer cancel()
		stdout, stderr, err = p.run(ctx, resource.URN(req.GetUrn()), spec, which, command, previousOutputOf(olds))
		if err != nil {
			return nil, err
		}
	}
	outs, err := marshalProps(commandOutputs(news, stdout, stderr), "outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: outs}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	token, err := commandToken(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	// The state holds the inputs as they were at the last create/update,
	// which is what the delete command should run with.
	state, err := unmarshalProps(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	spec, err := parseCommandSpec(token, state)
	if err != nil {
		return nil, err
	}
	if spec.delete == "" {
		return &emptypb.Empty{}, nil
	}
	ctx, cancel := p.stepContext(ctx, req.GetTimeout())
	defer cancel()
	if _, _, err := p.run(ctx, resource.URN(req.GetUrn()), spec, "delete", spec.delete, previousOutputOf(state)); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Read returns the state unchanged: a command has nothing to read back (the
// same known gap as upstream, so `pulumi refresh` never changes a Command).
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if _, err := commandToken(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// ---- running ------------------------------------------------------------------

// run executes one of the resource's commands and returns stdout and stderr
// as property values, or an error that explains the failure without showing
// what `logging` hides.
func (p *commandProvider) run(ctx context.Context, urn resource.URN, spec *commandSpec, which, command string, prev *previousOutput) (resource.PropertyValue, resource.PropertyValue, error) {
	redact := newRedactor(spec.secrets)
	out := newOutputCollector(ctx, p.logger, urn, spec.logging, redact)
	run := p.runners[spec.token](urn)
	if err := run(ctx, spec, command, spec.processEnv(prev), out); err != nil {
		return resource.PropertyValue{}, resource.PropertyValue{}, commandFailure(spec, which, command, err, out, redact)
	}
	return resource.NewStringProperty(out.Stdout.String()), resource.NewStringProperty(out.Stderr.String()), nil
}

// newID gives each Command a unique id: the resource name and a random
// suffix (a Command has no natural identity of its own).
func newID(name string, urn resource.URN) string {
	if name == "" && urn.IsValid() {
		name = urn.Name()
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s", name, hex.EncodeToString(b[:]))
}
