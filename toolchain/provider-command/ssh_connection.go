package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// connectionSpec is the `connection` input of command:remote:Command (and its
// `proxy`), with the documented defaults applied.
type connectionSpec struct {
	path               string // "connection" or "connection.proxy", for messages
	host               string
	port               int
	user               string
	password           string
	privateKey         string
	privateKeyPassword string
	agentSocketPath    string
	hostKey            ssh.PublicKey // nil: not checked (documented behaviour)
	dialErrorLimit     int           // -1: unlimited
	perDialTimeout     time.Duration // 0: no limit
	proxy              *connectionSpec
}

func parseConnection(m resource.PropertyMap, path string, allowProxy bool) (*connectionSpec, error) {
	c := &connectionSpec{path: path, port: 22, user: "root", dialErrorLimit: 10, perDialTimeout: 15 * time.Second}
	str := func(key string, dst *string) error {
		s, ok, err := getString(m, key)
		if err != nil {
			return badInput(path+"."+key, "must be a string")
		}
		if ok {
			*dst = s
		}
		return nil
	}
	for key, dst := range map[string]*string{
		"host": &c.host, "user": &c.user, "password": &c.password, "privateKey": &c.privateKey,
		"privateKeyPassword": &c.privateKeyPassword, "agentSocketPath": &c.agentSocketPath,
	} {
		if err := str(key, dst); err != nil {
			return nil, err
		}
	}
	if v := m["host"]; c.host == "" && !v.ContainsUnknowns() {
		return nil, badInput(path+".host", "is required")
	}

	num := func(key string) (float64, bool, error) {
		n, ok, err := getNumber(m, key)
		if err != nil {
			return 0, false, badInput(path+"."+key, "must be a number")
		}
		if ok && (n != math.Trunc(n) || math.IsInf(n, 0)) {
			return 0, false, badInput(path+"."+key, "must be a whole number")
		}
		return n, ok, nil
	}
	if n, ok, err := num("port"); err != nil {
		return nil, err
	} else if ok {
		if n < 1 || n > 65535 {
			return nil, badInput(path+".port", "must be between 1 and 65535")
		}
		c.port = int(n)
	}
	if n, ok, err := num("dialErrorLimit"); err != nil {
		return nil, err
	} else if ok {
		c.dialErrorLimit = int(n)
		if c.dialErrorLimit < 0 {
			c.dialErrorLimit = -1
		}
	}
	if n, ok, err := num("perDialTimeout"); err != nil {
		return nil, err
	} else if ok {
		if n < 0 {
			return nil, badInput(path+".perDialTimeout", "must not be negative")
		}
		c.perDialTimeout = time.Duration(n) * time.Second
	}

	var hostKey string
	if err := str("hostKey", &hostKey); err != nil {
		return nil, err
	}
	if strings.TrimSpace(hostKey) != "" {
		key, err := parseHostKey(hostKey)
		if err != nil {
			return nil, badInput(path+".hostKey", "%s", err.Error())
		}
		c.hostKey = key
	}

	proxy, ok, err := getObject(m, "proxy")
	if err != nil {
		return nil, badInput(path+".proxy", "must be an object")
	}
	if ok {
		if !allowProxy {
			return nil, badInput(path+".proxy", "a proxy connection cannot have a proxy of its own")
		}
		if c.proxy, err = parseConnection(proxy, path+".proxy", false); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// credentials lists the values that must never be shown.
func (c *connectionSpec) credentials() []string {
	var out []string
	for _, s := range []string{c.password, c.privateKey, c.privateKeyPassword} {
		if s != "" {
			out = append(out, s)
		}
	}
	if c.proxy != nil {
		out = append(out, c.proxy.credentials()...)
	}
	return out
}

func (c *connectionSpec) address() string {
	return net.JoinHostPort(c.host, strconv.Itoa(c.port))
}

// parseHostKey accepts the forms a user is likely to paste: an
// authorized_keys line ("ssh-ed25519 AAAA... comment"), a known_hosts line
// ("host ssh-ed25519 AAAA..."), or the bare base64 key blob.
func parseHostKey(s string) (ssh.PublicKey, error) {
	s = strings.TrimSpace(s)
	if key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
		return key, nil
	}
	if _, _, key, _, _, err := ssh.ParseKnownHosts([]byte(s)); err == nil && key != nil {
		return key, nil
	}
	if blob, err := base64.StdEncoding.DecodeString(s); err == nil {
		if key, err := ssh.ParsePublicKey(blob); err == nil {
			return key, nil
		}
	}
	return nil, errors.New(`is not an SSH public key; expected a line like "ssh-ed25519 AAAA..." (as in the server's /etc/ssh/ssh_host_*_key.pub)`)
}

// hostKeyMismatchError is not retried: a different key will not become the
// right one by trying again, and retrying would only delay a clear failure.
type hostKeyMismatchError struct {
	address        string
	want, got      string
	wantType, gotT string
}

func (e *hostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key verification failed for %s: expected %s %s, server presented %s %s",
		e.address, e.wantType, e.want, e.gotT, e.got)
}

// permanentError marks configuration problems that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// clientConfig builds the SSH client configuration: authentication and host
// key verification.
func (c *connectionSpec) clientConfig() (*ssh.ClientConfig, func(), error) {
	cfg := &ssh.ClientConfig{User: c.user}
	cleanup := func() {}

	// x/crypto tries each auth method name once, so every key source (the
	// private key and the agent) goes into a single publickey method.
	var signers []ssh.Signer
	if c.privateKey != "" {
		var signer ssh.Signer
		var err error
		if c.privateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.privateKey), []byte(c.privateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.privateKey))
		}
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return nil, cleanup, &permanentError{fmt.Errorf("%s.privateKey is encrypted: set %s.privateKeyPassword", c.path, c.path)}
		case err != nil:
			// The parser's message never contains key material.
			return nil, cleanup, &permanentError{fmt.Errorf("%s.privateKey could not be parsed: %v", c.path, err)}
		}
		signers = append(signers, signer)
	}
	var agentSigners func() ([]ssh.Signer, error)
	socket := c.agentSocketPath
	if socket == "" {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket != "" {
		if conn, err := net.Dial("unix", socket); err == nil {
			agentSigners = agent.NewClient(conn).Signers
			cleanup = func() { conn.Close() }
		} else if c.agentSocketPath != "" {
			// Only an explicitly configured agent is worth failing for.
			return nil, cleanup, &permanentError{fmt.Errorf("%s.agentSocketPath: cannot reach the SSH agent: %v", c.path, err)}
		}
	}
	if len(signers) > 0 || agentSigners != nil {
		cfg.Auth = append(cfg.Auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			all := append([]ssh.Signer(nil), signers...)
			if agentSigners != nil {
				if more, err := agentSigners(); err == nil {
					all = append(all, more...)
				}
			}
			return all, nil
		}))
	}
	if c.password != "" {
		password := c.password
		cfg.Auth = append(cfg.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	if len(cfg.Auth) == 0 {
		cleanup()
		return nil, func() {}, &permanentError{fmt.Errorf("%s: no authentication method: set privateKey, password or agentSocketPath (or SSH_AUTH_SOCK)", c.path)}
	}

	if c.hostKey == nil {
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() // documented: "If not provided, the host key will be ignored."
	} else {
		want := c.hostKey
		// Ask for the expected key's algorithm; otherwise a server with
		// several host keys may offer a different (valid) one and the
		// comparison would fail spuriously.
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(want)
		address := c.address()
		cfg.HostKeyCallback = func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if bytes.Equal(got.Marshal(), want.Marshal()) {
				return nil
			}
			return &hostKeyMismatchError{address: address,
				want: ssh.FingerprintSHA256(want), wantType: want.Type(),
				got: ssh.FingerprintSHA256(got), gotT: got.Type()}
		}
	}
	return cfg, cleanup, nil
}

func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{key.Type()}
}

// sshClient is a connection to the target, plus the proxy connection it
// runs through, if any.
type sshClient struct {
	*ssh.Client
	closers []func()
}

func (c *sshClient) Close() error {
	err := c.Client.Close()
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
	return err
}

// connect opens the SSH connection, through the proxy when one is set,
// retrying failed dials as documented by dialErrorLimit and perDialTimeout.
// status receives short progress notes (never credentials).
func connect(ctx context.Context, c *connectionSpec, status func(string)) (*sshClient, error) {
	var closers []func()
	var via *ssh.Client
	if c.proxy != nil {
		proxy, err := dialWithRetry(ctx, c.proxy, nil, status)
		if err != nil {
			return nil, fmt.Errorf("connecting to proxy %s: %w", c.proxy.address(), err)
		}
		via = proxy.Client
		closers = append(closers, func() { proxy.Close() })
	}
	client, err := dialWithRetry(ctx, c, via, status)
	if err != nil {
		for _, f := range closers {
			f()
		}
		return nil, err
	}
	client.closers = append(client.closers, closers...)
	return client, nil
}

// Backoff between dial attempts: short, because the common case is a host
// that is still booting or an sshd that is restarting.
const (
	firstDialBackoff = 500 * time.Millisecond
	maxDialBackoff   = 5 * time.Second
)

func dialWithRetry(ctx context.Context, c *connectionSpec, via *ssh.Client, status func(string)) (*sshClient, error) {
	cfg, cleanup, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	backoff := firstDialBackoff
	for attempt := 1; ; attempt++ {
		client, err := dialOnce(ctx, c, cfg, via)
		if err == nil {
			return &sshClient{Client: client, closers: []func(){cleanup}}, nil
		}
		var mismatch *hostKeyMismatchError
		var permanent *permanentError
		if errors.As(err, &mismatch) || errors.As(err, &permanent) || ctx.Err() != nil {
			cleanup()
			return nil, err
		}
		if c.dialErrorLimit >= 0 && attempt >= max(c.dialErrorLimit, 1) {
			cleanup()
			return nil, fmt.Errorf("could not connect to %s as %s after %d attempt(s): %w", c.address(), c.user, attempt, err)
		}
		status(fmt.Sprintf("connecting to %s failed (attempt %d): %v; retrying in %s", c.address(), attempt, err, backoff))
		select {
		case <-ctx.Done():
			cleanup()
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxDialBackoff)
	}
}

// dialOnce makes one TCP connection and SSH handshake, both bounded by
// perDialTimeout, and aborted if ctx is cancelled.
func dialOnce(ctx context.Context, c *connectionSpec, cfg *ssh.ClientConfig, via *ssh.Client) (*ssh.Client, error) {
	dialCtx := ctx
	if c.perDialTimeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, c.perDialTimeout)
		defer cancel()
	}
	var conn net.Conn
	var err error
	if via != nil {
		conn, err = via.DialContext(dialCtx, "tcp", c.address())
	} else {
		var d net.Dialer
		conn, err = d.DialContext(dialCtx, "tcp", c.address())
	}
	if err != nil {
		return nil, err
	}
	// The handshake has no context of its own: a deadline bounds it and a
	// watcher closes the connection if the step is cancelled.
	if deadline, ok := dialCtx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(dialCtx, func() { conn.Close() })
	sshConn, chans, reqs, err := ssh.NewClientConn(conn, c.address(), cfg)
	if !stop() {
		// The watcher fired: the connection is closed (timeout or cancel).
		if err == nil {
			sshConn.Close()
			err = dialCtx.Err()
		}
		if ctx.Err() == nil && errors.Is(dialCtx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s: %w", c.perDialTimeout, err)
		}
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sshConn, chans, reqs), nil
}
