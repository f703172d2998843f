package main

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// logMode is the `logging` input: which of the command's streams may be shown
// to the user while it runs and in error messages. It never changes what is
// captured into the stdout/stderr outputs.
type logMode string

const (
	logStdout          logMode = "stdout"
	logStderr          logMode = "stderr"
	logStdoutAndStderr logMode = "stdoutAndStderr"
	logNone            logMode = "none"
)

func parseLogMode(s string) (logMode, error) {
	switch m := logMode(s); m {
	case "":
		return logStdoutAndStderr, nil // documented default
	case logStdout, logStderr, logStdoutAndStderr, logNone:
		return m, nil
	default:
		return "", fmt.Errorf("logging must be one of stdout, stderr, stdoutAndStderr or none, not %q", s)
	}
}

func (m logMode) showsStdout() bool { return m == logStdout || m == logStdoutAndStderr }
func (m logMode) showsStderr() bool { return m == logStderr || m == logStdoutAndStderr }

// engineLogger is the part of the engine's host interface the provider uses.
// It is an interface so tests can record what would have been shown.
type engineLogger interface {
	// Log sends one message for the resource urn (empty for invokes).
	// Ephemeral messages are status updates shown while the step runs.
	Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string, ephemeral bool)
}

// discardLogger is used when the plugin runs without an engine (attach mode).
type discardLogger struct{}

func (discardLogger) Log(context.Context, diag.Severity, resource.URN, string, bool) {}

// outputCollector captures a command's stdout and stderr in full for the
// outputs, streams complete lines to the engine as they arrive (honouring
// `logging`), and keeps an interleaved, redacted transcript of the visible
// lines so a failure can be explained without showing hidden streams.
type outputCollector struct {
	ctx     context.Context
	logger  engineLogger
	urn     resource.URN
	mode    logMode
	redact  *redactor
	mu      sync.Mutex
	shown   bytes.Buffer // visible, redacted lines in arrival order
	Stdout  *streamCapture
	Stderr  *streamCapture
	flushed bool
}

// maxTranscript bounds how much output an error message carries; the tail is
// kept because the reason for a failure is usually printed last.
const maxTranscript = 16 << 10

func newOutputCollector(ctx context.Context, logger engineLogger, urn resource.URN, mode logMode, r *redactor) *outputCollector {
	c := &outputCollector{ctx: ctx, logger: logger, urn: urn, mode: mode, redact: r}
	c.Stdout = &streamCapture{owner: c, visible: mode.showsStdout()}
	c.Stderr = &streamCapture{owner: c, visible: mode.showsStderr()}
	return c
}

// emit handles one complete line from a visible stream.
func (c *outputCollector) emit(line string) {
	line = c.redact.apply(strings.TrimSuffix(line, "\r"))
	c.mu.Lock()
	c.shown.WriteString(line)
	c.shown.WriteByte('\n')
	if c.shown.Len() > 2*maxTranscript {
		tail := append([]byte(nil), c.shown.Bytes()[c.shown.Len()-maxTranscript:]...)
		c.shown.Reset()
		c.shown.Write(tail)
	}
	c.mu.Unlock()
	// Both streams are shown as information: stderr is not an error by
	// itself (many tools print progress there).
	c.logger.Log(c.ctx, diag.Info, c.urn, line, streamEphemeral)
}

// streamEphemeral controls whether streamed lines are status messages (shown
// while the step runs) or regular diagnostics (also listed after the update).
// Regular diagnostics are used so the output stays visible in non-interactive
// `pulumi up` runs such as CI logs.
const streamEphemeral = false

// finish flushes partial last lines. It must be called once both streams are
// closed (the command has exited).
func (c *outputCollector) finish() {
	if c.flushed {
		return
	}
	c.flushed = true
	c.Stdout.flush()
	c.Stderr.flush()
}

// transcript returns what the user was allowed to see, for error messages.
func (c *outputCollector) transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.shown.String()
	if len(s) > maxTranscript {
		s = "...\n" + s[len(s)-maxTranscript:]
	}
	return strings.TrimSuffix(s, "\n")
}

// streamCapture is the io.Writer given to a process as stdout or stderr.
type streamCapture struct {
	owner   *outputCollector
	visible bool
	mu      sync.Mutex
	all     bytes.Buffer // everything, for the output property
	partial []byte       // bytes after the last newline, not yet logged
}

func (s *streamCapture) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.all.Write(p)
	var lines []string
	if s.visible {
		s.partial = append(s.partial, p...)
		for {
			i := bytes.IndexByte(s.partial, '\n')
			if i < 0 {
				break
			}
			lines = append(lines, string(s.partial[:i]))
			s.partial = s.partial[i+1:]
		}
	}
	s.mu.Unlock()
	for _, l := range lines {
		s.owner.emit(l)
	}
	return len(p), nil
}

func (s *streamCapture) flush() {
	s.mu.Lock()
	rest := string(s.partial)
	s.partial = nil
	s.mu.Unlock()
	if rest != "" {
		s.owner.emit(rest)
	}
}

// String is the captured stream as upstream reports it: with one final
// newline removed, so `echo hi` yields "hi".
func (s *streamCapture) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSuffix(s.all.String(), "\n")
}

// redactor replaces known secret strings (stdin, environment values,
// credentials) in anything the provider shows. It is a safety net: output is
// still shown according to `logging`, but a command that echoes its secret
// input does not put that input into the engine's logs verbatim. Each line
// of a multi-line secret (such as a PEM key) is redacted on its own because
// output is streamed line by line.
type redactor struct {
	needles []string
}

const redactedText = "[secret]"

func newRedactor(secrets []string) *redactor {
	seen := map[string]bool{}
	var needles []string
	add := func(s string, min int) {
		if len(s) >= min && !seen[s] {
			seen[s] = true
			needles = append(needles, s)
		}
	}
	for _, s := range secrets {
		add(s, 4)
		add(strings.TrimSpace(s), 4)
		for _, line := range strings.Split(s, "\n") {
			add(strings.TrimSpace(line), 8)
		}
	}
	// Longest first, so a whole secret is replaced before its lines are.
	sort.Slice(needles, func(i, j int) bool { return len(needles[i]) > len(needles[j]) })
	return &redactor{needles: needles}
}

func (r *redactor) apply(s string) string {
	if r == nil {
		return s
	}
	for _, n := range r.needles {
		if strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, redactedText)
		}
	}
	return s
}
