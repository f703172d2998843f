package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Resource and function tokens, exactly as the @pulumi/command SDK uses them.
const (
	tokenLocalCommand  = "command:local:Command"
	tokenRemoteCommand = "command:remote:Command"
	tokenLocalRun      = "command:local:run"
)

// Output-only properties. They are stored in the state next to the inputs
// and must be ignored when inputs are compared.
var outputOnlyKeys = map[resource.PropertyKey]bool{
	"stdout":  true,
	"stderr":  true,
	"archive": true,
	"assets":  true,
}

// inputError names the property at fault so Check can report it precisely.
type inputError struct {
	property string
	reason   string
}

func (e *inputError) Error() string { return e.property + ": " + e.reason }

func badInput(property, format string, args ...any) error {
	return &inputError{property: property, reason: fmt.Sprintf(format, args...)}
}

// commandSpec is the plain (secret-free) view of a Command's inputs, shared
// by both resource kinds. Kind-specific fields are zero for the other kind.
type commandSpec struct {
	token                  string
	create, update, delete string
	environment            map[string]string
	stdin                  string
	hasStdin               bool
	logging                logMode
	addPreviousOutputInEnv bool

	// command:local:Command and command:local:run
	dir         string
	interpreter []string

	// command:remote:Command
	connection *connectionSpec

	// secrets are the strings that must never appear in logs or errors.
	secrets []string
	// secretCommands tells, per command property, whether its text arrived
	// as a secret and so must not be quoted in an error message.
	secretCommands map[string]bool
}

// envNamePattern restricts environment variable names to portable shell
// identifiers. The remote fallback defines variables through the shell, and
// a name outside this set could not be exported there anyway.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseCommandSpec reads the inputs, which may still contain secret markers
// and, during preview, unknown values (those are skipped, see absent()).
func parseCommandSpec(token string, inputs resource.PropertyMap) (*commandSpec, error) {
	plain := revealMap(inputs)
	spec := &commandSpec{token: token, secretCommands: map[string]bool{}}
	var err error

	for _, name := range []string{"create", "update", "delete"} {
		s, _, e := getString(plain, name)
		if e != nil {
			return nil, badInput(name, "must be a string")
		}
		switch name {
		case "create":
			spec.create = s
		case "update":
			spec.update = s
		case "delete":
			spec.delete = s
		}
		if v, ok := inputs[resource.PropertyKey(name)]; ok && v.ContainsSecrets() {
			spec.secretCommands[name] = true
		}
	}
	if token == tokenLocalRun {
		s, ok, e := getString(plain, "command")
		if e != nil {
			return nil, badInput("command", "must be a string")
		}
		if !ok && !inputs.HasValue("command") {
			return nil, badInput("command", "is required")
		}
		spec.create = s
		if v, ok := inputs["command"]; ok && v.ContainsSecrets() {
			spec.secretCommands["create"] = true
		}
	}

	if spec.environment, err = getStringMap(plain, "environment"); err != nil {
		return nil, badInput("environment", "must be a map of strings")
	}
	for name := range spec.environment {
		if !envNamePattern.MatchString(name) {
			return nil, badInput("environment", "%q is not a valid variable name (letters, digits and _, not starting with a digit)", name)
		}
	}
	if spec.stdin, spec.hasStdin, err = getString(plain, "stdin"); err != nil {
		return nil, badInput("stdin", "must be a string")
	}
	logging, _, err := getString(plain, "logging")
	if err != nil {
		return nil, badInput("logging", "must be a string")
	}
	if spec.logging, err = parseLogMode(logging); err != nil {
		return nil, badInput("logging", "%s", err.Error())
	}
	addPrev, set, err := getBool(plain, "addPreviousOutputInEnv")
	if err != nil {
		return nil, badInput("addPreviousOutputInEnv", "must be a boolean")
	}
	spec.addPreviousOutputInEnv = !set || addPrev // documented default: true

	switch token {
	case tokenLocalCommand, tokenLocalRun:
		if spec.dir, _, err = getString(plain, "dir"); err != nil {
			return nil, badInput("dir", "must be a string")
		}
		if spec.interpreter, err = getStringList(plain, "interpreter"); err != nil {
			return nil, badInput("interpreter", "must be a list of strings")
		}
		// Capturing files into assets/archives is not implemented; failing
		// is better than silently returning no archive.
		for _, key := range []string{"assetPaths", "archivePaths"} {
			if list, _ := getStringList(plain, key); len(list) > 0 {
				return nil, badInput(key, "is not supported by this command provider build (outputs assets/archive are not produced)")
			}
		}
	case tokenRemoteCommand:
		if !inputs.HasValue("connection") {
			return nil, badInput("connection", "is required")
		}
		connection, ok, err := getObject(plain, "connection")
		if err != nil {
			return nil, badInput("connection", "must be an object")
		}
		if ok {
			if spec.connection, err = parseConnection(connection, "connection", true); err != nil {
				return nil, err
			}
		}
	}

	// Secret strings from the inputs that reach the process, plus
	// credentials whether or not the program marked them secret.
	for _, key := range []resource.PropertyKey{"stdin", "environment", "create", "update", "delete", "command"} {
		if v, ok := inputs[key]; ok {
			secretStrings(v, false, &spec.secrets)
		}
	}
	if spec.connection != nil {
		spec.secrets = append(spec.secrets, spec.connection.credentials()...)
	}
	return spec, nil
}

// previousOutput is the stdout/stderr of the last create or update, offered
// to update and delete commands as PULUMI_COMMAND_STDOUT/STDERR.
type previousOutput struct {
	stdout, stderr string
}

func previousOutputOf(state resource.PropertyMap) *previousOutput {
	plain := revealMap(state)
	stdout, _, _ := getString(plain, "stdout")
	stderr, _, _ := getString(plain, "stderr")
	return &previousOutput{stdout: stdout, stderr: stderr}
}

// processEnv is the environment a run adds to the process.
func (s *commandSpec) processEnv(prev *previousOutput) map[string]string {
	env := map[string]string{}
	for k, v := range s.environment {
		env[k] = v
	}
	if prev != nil && s.addPreviousOutputInEnv {
		env["PULUMI_COMMAND_STDOUT"] = prev.stdout
		env["PULUMI_COMMAND_STDERR"] = prev.stderr
	}
	return env
}

// exitStatusError is a command that ran and exited unsuccessfully; status is
// the runner's own wording ("exit status 2", "Process exited with status 2").
type exitStatusError struct{ status string }

func (e *exitStatusError) Error() string { return e.status }

// commandFailure explains a failed run: the exit status, the command (unless
// it is secret), and the output the user may see according to `logging`.
// Stdin is never included.
func commandFailure(spec *commandSpec, which string, command string, runErr error, out *outputCollector, r *redactor) error {
	shown := fmt.Sprintf("%q", r.apply(command))
	if spec.secretCommands[which] {
		shown = "(secret " + which + " command)"
	}
	msg := fmt.Sprintf("%s: running %s", r.apply(runErr.Error()), shown)
	var status *exitStatusError
	if !errors.As(runErr, &status) {
		// It did not get as far as an exit status (connection, start-up
		// or cancellation): there may be no output worth quoting.
		if t := out.transcript(); t != "" {
			msg += ":\n" + t
		}
		return errors.New(msg)
	}
	switch spec.logging {
	case logNone:
		msg += " (output not shown because logging is \"none\")"
	case logStdout:
		msg += " (stdout follows; stderr not shown because logging is \"stdout\"):\n" + out.transcript()
	case logStderr:
		msg += " (stderr follows; stdout not shown because logging is \"stderr\"):\n" + out.transcript()
	default:
		msg += ":\n" + out.transcript()
	}
	return errors.New(strings.TrimRight(msg, "\n"))
}

// runner executes one command text for a spec; local and remote differ.
type runner func(ctx context.Context, spec *commandSpec, command string, env map[string]string, out *outputCollector) error

// commandOutputs is the state of a Command: its inputs as given (secret
// markers intact) plus stdout and stderr. The outputs are secret whenever any
// input was, because a command's output can reveal whatever was fed into it.
func commandOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range inputs {
		if !outputOnlyKeys[k] {
			out[k] = v
		}
	}
	if inputs.ContainsSecrets() {
		if !stdout.IsComputed() {
			stdout = resource.MakeSecret(stdout)
		}
		if !stderr.IsComputed() {
			stderr = resource.MakeSecret(stderr)
		}
	}
	out["stdout"] = stdout
	out["stderr"] = stderr
	return out
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}
