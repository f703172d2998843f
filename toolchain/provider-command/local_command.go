package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// command:local:Command (and the command:local:run function) run their
// commands on the machine running `pulumi`, through `interpreter` (default
// /bin/sh -c), with the provider's own environment plus `environment`.

var defaultInterpreter = []string{"/bin/sh", "-c"}

// pipeGrace bounds how long the provider keeps reading output after the
// command exited. A command that starts a background process which inherits
// stdout would otherwise hold the step open for as long as that process lives.
const pipeGrace = 5 * time.Second

func runLocal(ctx context.Context, spec *commandSpec, command string, env map[string]string, out *outputCollector) error {
	interpreter := spec.interpreter
	if len(interpreter) == 0 {
		interpreter = defaultInterpreter
	}
	args := append(append([]string(nil), interpreter[1:]...), command)
	cmd := exec.CommandContext(ctx, interpreter[0], args...)
	cmd.Dir = spec.dir
	cmd.Env = os.Environ()
	for _, name := range sortedKeys(env) {
		cmd.Env = append(cmd.Env, name+"="+env[name])
	}
	if spec.hasStdin {
		cmd.Stdin = strings.NewReader(spec.stdin)
	} // else: stdin is /dev/null
	cmd.Stdout = out.Stdout
	cmd.Stderr = out.Stderr

	// Run in its own process group so cancelling kills the whole command,
	// not just the interpreter.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = pipeGrace

	err := cmd.Run()
	out.finish()
	var exit *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		return nil // exited successfully; only a background child kept the pipes open
	case ctx.Err() != nil:
		return fmt.Errorf("cancelled: %w", ctx.Err())
	case errors.As(err, &exit):
		return &exitStatusError{status: exit.Error()} // "exit status 2", "signal: killed"
	default:
		return fmt.Errorf("could not start %q: %w", interpreter[0], err)
	}
}
