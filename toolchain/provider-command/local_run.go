package main

import (
	"context"
	"errors"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// command:local:run is a function (invoke), not a resource: it has no state,
// no diff and no delete. It runs with the same runner as command:local:Command.

// Invoke implements command:local:run: run a command every time the program
// runs (previews included) and return its output.
func (p *commandProvider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != tokenLocalRun {
		return nil, status.Errorf(codes.InvalidArgument, "unknown function %q: this command provider implements %s", req.GetTok(), tokenLocalRun)
	}
	args, err := unmarshalProps(req.GetArgs(), "args")
	if err != nil {
		return nil, err
	}
	spec, err := parseCommandSpec(tokenLocalRun, args)
	if err != nil {
		var bad *inputError
		if errors.As(err, &bad) {
			return &pulumirpc.InvokeResponse{Failures: []*pulumirpc.CheckFailure{{Property: bad.property, Reason: bad.reason}}}, nil
		}
		return nil, err
	}
	ctx, cancel := p.stepContext(ctx, 0)
	defer cancel()
	stdout, stderr, err := p.run(ctx, "", spec, "create", spec.create, nil)
	if err != nil {
		return nil, err
	}
	ret, err := marshalProps(commandOutputs(args, stdout, stderr), "return")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}
