package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// exitCodeErrorLogged is the exit code with which @pulumi/pulumi/cmd/run
// says "the error was already reported to the engine" (see
// nodeJSProcessExitedAfterLoggingUserActionableMessage in the SDK). The host
// must then bail without adding a second, generic error message.
const exitCodeErrorLogged = 32

// Run executes the program with the SDK's own runner, cmd/run, which connects
// back to the engine's resource monitor and registers the program's resources.
// A failing program is reported in RunResponse, not as an RPC error: RPC
// errors mean the host itself failed.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	cmd, err := h.runCommand(ctx, req)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	logging.V(5).Infof("Run: %s %v (in %s)", cmd.Path, cmd.Args[1:], cmd.Dir)

	// Pass our own stdout/stderr on: the engine shows what the host prints
	// after its port line, so console.log output reaches the user.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
	h.track(cmd)
	err = cmd.Wait()
	h.untrack(cmd)
	return runResponse(err), nil
}

// runResponse maps node's exit status to what the engine expects.
func runResponse(waitErr error) *pulumirpc.RunResponse {
	if waitErr == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if !errors.As(waitErr, &exitErr) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("running node failed: %v", waitErr)}
	}
	switch code := exitErr.ExitCode(); code {
	case exitCodeErrorLogged:
		return &pulumirpc.RunResponse{Bail: true}
	case -1: // killed by a signal
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exitErr)}
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
	}
}

// runCommand builds `node [nodeargs] .../cmd/run FLAGS PROGRAM ARGS...`.
func (h *languageHost) runCommand(ctx context.Context, req *pulumirpc.RunRequest) (*exec.Cmd, error) {
	info := req.GetInfo()
	opts, err := parseRuntimeOptions(info)
	if err != nil {
		return nil, err
	}
	node, err := findNode()
	if err != nil {
		return nil, err
	}

	pwd := req.GetPwd()
	if pwd == "" {
		pwd = info.GetProgramDirectory()
	}
	runner, err := findSDKFile(pwd, filepath.Join("cmd", "run"))
	if err != nil {
		return nil, err
	}

	// The entry point is relative to pwd; "." tells cmd/run to use package.json's main.
	program := info.GetEntryPoint()
	if program == "" {
		program = req.GetProgram()
	}
	if program == "" {
		program = "."
	}

	args := append([]string{}, opts.nodeArgs...)
	args = append(args, runner)
	args = append(args, runnerFlags(req, info, pwd, h.engineAddress(), h.tracing)...)
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	env, err := runEnv(req, opts)
	if err != nil {
		return nil, err
	}

	// CommandContext kills node if the engine abandons the Run call.
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = pwd
	cmd.Env = env
	return cmd, nil
}

// runnerFlags are the flags cmd/run parses with minimist; they must come
// before the program because it stops at the first positional argument.
func runnerFlags(req *pulumirpc.RunRequest, info *pulumirpc.ProgramInfo, pwd, engine, tracing string) []string {
	flags := []string{"--monitor=" + req.GetMonitorAddress()}
	if engine != "" {
		flags = append(flags, "--engine="+engine)
	}
	add := func(name, value string) {
		if value != "" {
			flags = append(flags, "--"+name+"="+value)
		}
	}
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", pwd)
	add("root-directory", info.GetRootDirectory())
	add("tracing", tracing)
	if req.GetDryRun() {
		flags = append(flags, "--dry-run")
	}
	if req.GetParallel() > 0 {
		flags = append(flags, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	return flags
}

// runEnv passes config the way the SDK reads it (runtime/config.js) and
// switches on TypeScript support in cmd/run.
func runEnv(req *pulumirpc.RunRequest, opts runtimeOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("encoding secret config keys: %w", err)
	}

	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
	)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}
