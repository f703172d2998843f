package main

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Remote environment variables.
//
// SSH can pass variables with "env" channel requests (Session.Setenv), but
// OpenSSH's sshd refuses every name not listed in its AcceptEnv setting
// (Debian's default accepts only LANG and LC_*). So the provider first asks
// for each variable with Setenv and, if any is refused, defines all of them
// in the remote shell instead:
//
//   - The command sent to sshd is a fixed bootstrap followed by the user's
//     command. The bootstrap holds no values, so the remote process list
//     (`ps`, /proc/*/cmdline) shows nothing secret.
//   - The values travel on the session's stdin, ahead of the user's stdin:
//     one "NAME=escaped-value" line per variable and an empty line to end.
//     The shell's `read` builtin consumes stdin byte by byte, so the user's
//     command still receives exactly its own stdin afterwards.
//   - Values are escaped as printf %b octal escapes, so any byte (newlines
//     included) survives, and decoded with the printf builtin (no child
//     process whose arguments could be seen).
//
// This needs a POSIX shell (sh, dash, bash, zsh, ash) as the remote user's
// login shell, which is what sshd runs the command with.

// envBootstrap reads the variables from stdin and exports them. The trailing
// "x" keeps trailing newlines of a value that $(...) would otherwise strip.
const envBootstrap = `while IFS= read -r __pulumi_command_env && [ -n "$__pulumi_command_env" ]; do ` +
	`__pulumi_command_val=$(printf '%bx' "${__pulumi_command_env#*=}"); ` +
	`export "${__pulumi_command_env%%=*}=${__pulumi_command_val%x}"; ` +
	`done; unset __pulumi_command_env __pulumi_command_val
`

// encodeEnvPreamble renders the variables for envBootstrap.
func encodeEnvPreamble(env map[string]string) []byte {
	var b strings.Builder
	for _, name := range sortedKeys(env) {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(escapePrintfB(env[name]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// escapePrintfB keeps harmless characters readable and writes every other
// byte as \0ooo. Exactly three octal digits are always written, so a digit
// that follows is never taken as part of the escape.
func escapePrintfB(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '.', c == '/', c == ':', c == '@', c == ',', c == '+', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\0%03o`, c)
		}
	}
	return b.String()
}

// applyRemoteEnv sets env on the session. It returns the preamble to send on
// stdin and the bootstrap to put before the command when the server refused
// any variable, or nils when Setenv was enough.
func applyRemoteEnv(session *ssh.Session, env map[string]string) (preamble []byte, bootstrap string) {
	if len(env) == 0 {
		return nil, ""
	}
	for _, name := range sortedKeys(env) {
		if err := session.Setenv(name, env[name]); err != nil {
			return encodeEnvPreamble(env), envBootstrap
		}
	}
	return nil, ""
}
