package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// command:remote:Command runs its create/update/delete commands on a host
// reached over SSH. sshd runs each command with the remote user's login
// shell (`$SHELL -c command`), as upstream does.

// remoteRunner returns the runner for remote commands; status messages about
// connection attempts go to the engine as ephemeral status for urn.
func (p *commandProvider) remoteRunner(urn resource.URN) runner {
	return func(ctx context.Context, spec *commandSpec, command string, env map[string]string, out *outputCollector) error {
		status := func(msg string) {
			p.logger.Log(ctx, diag.Info, urn, out.redact.apply(msg), true)
		}
		return runRemote(ctx, spec, command, env, out, status)
	}
}

func runRemote(ctx context.Context, spec *commandSpec, command string, env map[string]string, out *outputCollector, status func(string)) error {
	if spec.connection == nil {
		return errors.New("connection is required")
	}
	client, err := connect(ctx, spec.connection, status)
	if err != nil {
		return err
	}
	defer client.Close()

	session, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("opening an SSH session on %s: %w", spec.connection.address(), err)
	}
	defer session.Close()

	preamble, bootstrap := applyRemoteEnv(session, env)
	var stdin []io.Reader
	if len(preamble) > 0 {
		stdin = append(stdin, bytes.NewReader(preamble))
	}
	if spec.hasStdin {
		stdin = append(stdin, strings.NewReader(spec.stdin))
	}
	// With no reader x/crypto still closes the remote stdin, so a command
	// that reads stdin sees end-of-file instead of waiting forever.
	session.Stdin = io.MultiReader(stdin...)
	session.Stdout = out.Stdout
	session.Stderr = out.Stderr

	if err := session.Start(bootstrap + command); err != nil {
		return fmt.Errorf("starting the command on %s: %w", spec.connection.address(), err)
	}
	done := make(chan error, 1)
	go func() { done <- session.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ask the remote side to stop the command, then drop the
		// connection, which ends it anyway when sshd ignores the signal.
		_ = session.Signal(ssh.SIGKILL)
		client.Close()
		<-done
		err = fmt.Errorf("cancelled: %w", ctx.Err())
	}
	out.finish()

	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		// "Process exited with status 2" (or the signal that ended it).
		return &exitStatusError{status: exit.Error()}
	case errors.As(err, &missing):
		return &exitStatusError{status: "the remote command ended without reporting an exit status (connection lost?)"}
	default:
		return err
	}
}
