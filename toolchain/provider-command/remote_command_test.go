package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// connection builds the `connection` input the way the SDK sends it: the
// whole object secret, defaults filled in.
func (s *testSSHServer) connection(extra map[string]any) resource.PropertyValue {
	m := map[string]any{
		"host":           "127.0.0.1",
		"port":           float64(s.port),
		"user":           "tester",
		"privateKey":     s.clientKey,
		"dialErrorLimit": float64(2),
		"perDialTimeout": float64(5),
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return resource.MakeSecret(resource.NewPropertyValue(m))
}

func TestRemoteLifecycle(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, logs := newTestProvider()
	dir := t.TempDir()
	file := filepath.Join(dir, "op.txt")

	inputs := pm(map[string]any{
		"create": "echo created >> " + file + "; echo out-create; echo err-create >&2",
		"update": "echo \"updated prev=$PULUMI_COMMAND_STDOUT\" >> " + file + "; echo out-update",
		"delete": "echo \"deleted prev=$PULUMI_COMMAND_STDOUT/$PULUMI_COMMAND_STDERR\" >> " + file,
	})
	inputs["connection"] = srv.connection(nil)

	state, err := doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state, "stdout"); out != "out-create" {
		t.Errorf("stdout = %q, want %q (final newline trimmed)", out, "out-create")
	}
	if errOut, _ := str(t, state, "stderr"); errOut != "err-create" {
		t.Errorf("stderr = %q", errOut)
	}
	mustContain(t, "streamed log", logs.all(), "log: out-create", "log: err-create")

	news := inputs.Copy()
	news["create"] = resource.NewStringProperty(inputs["create"].StringValue() + " # changed")
	state2, err := doUpdate(t, p, remoteURN, state, news)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state2, "stdout"); out != "out-update" {
		t.Errorf("update stdout = %q", out)
	}
	if err := doDelete(t, p, remoteURN, state2); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	want := "created\nupdated prev=out-create\ndeleted prev=out-update/\n"
	if string(got) != want {
		t.Errorf("operations log:\n%s\nwant:\n%s", got, want)
	}
}

func TestRemoteUpdateFallsBackToCreate(t *testing.T) {
	srv := startTestSSHServer(t, true)
	p, _ := newTestProvider()
	inputs := pm(map[string]any{"create": "echo run-$PULUMI_COMMAND_STDOUT"})
	inputs["connection"] = srv.connection(nil)
	state, err := doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	news := inputs.Copy()
	news["stdin"] = resource.NewStringProperty("x")
	state2, err := doUpdate(t, p, remoteURN, state, news)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state2, "stdout"); out != "run-run-" {
		t.Errorf("update without `update` should rerun create with the previous output in env; stdout = %q", out)
	}
}

func TestRemoteStdin(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, logs := newTestProvider()
	payload := "line one\nline two with 'quotes' and $dollar\n"
	inputs := pm(map[string]any{"create": "cat; echo; wc -c"})
	inputs["stdin"] = secret(payload)
	inputs["connection"] = srv.connection(nil)
	state, err := doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	out, isSecret := str(t, state, "stdout")
	if !strings.HasPrefix(out, payload) {
		t.Errorf("stdin not delivered intact: %q", out)
	}
	if !isSecret {
		t.Error("stdout must be secret when stdin is secret")
	}
	if !state["stdin"].IsSecret() {
		t.Error("stdin must stay secret in the state")
	}
	// The command echoes its stdin: the log must not repeat the secret.
	mustNotContain(t, "log", logs.all(), "line two with")
}

func TestRemoteEnvironment(t *testing.T) {
	// Values that would break naive quoting, a trailing newline, and
	// non-ASCII bytes.
	tricky := "a b\n'quoted' \"double\" $HOME `tick` \\back\\ ünïcode %s %b \\c\n"
	for _, acceptEnv := range []bool{false, true} {
		name := "preamble"
		if acceptEnv {
			name = "setenv"
		}
		t.Run(name, func(t *testing.T) {
			srv := startTestSSHServer(t, acceptEnv)
			p, _ := newTestProvider()
			inputs := pm(map[string]any{
				"create": `printf '%s|' "$PLAIN" "$TRICKY" "$EMPTY"; cat`,
			})
			inputs["environment"] = resource.NewObjectProperty(resource.PropertyMap{
				"PLAIN":  resource.NewStringProperty("hello"),
				"TRICKY": resource.MakeSecret(resource.NewStringProperty(tricky)),
				"EMPTY":  resource.NewStringProperty(""),
			})
			inputs["stdin"] = resource.NewStringProperty("user-stdin")
			inputs["connection"] = srv.connection(nil)
			state, err := doCreate(t, p, remoteURN, inputs)
			if err != nil {
				t.Fatal(err)
			}
			out, isSecret := str(t, state, "stdout")
			want := "hello|" + tricky + "||user-stdin"
			if out != want {
				t.Errorf("stdout:\n%q\nwant:\n%q", out, want)
			}
			if !isSecret {
				t.Error("stdout must be secret when an environment value is secret")
			}
			for _, c := range srv.commands() {
				mustNotContain(t, "remote command line", c, "ünïcode", "hello")
			}
		})
	}
}

func TestRemoteNonZeroExit(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, _ := newTestProvider()
	inputs := pm(map[string]any{"create": "cat >/dev/null; echo progress; echo 'disk full' >&2; exit 3"})
	inputs["stdin"] = resource.NewStringProperty("stdin-must-not-be-echoed")
	inputs["connection"] = srv.connection(nil)
	_, err := doCreate(t, p, remoteURN, inputs)
	if err == nil {
		t.Fatal("expected an error")
	}
	mustContain(t, "error", err.Error(), "status 3", "disk full", "progress", "exit 3")
	mustNotContain(t, "error", err.Error(), "stdin-must-not-be-echoed", "BEGIN OPENSSH")
}

func TestRemoteLoggingNone(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, logs := newTestProvider()
	inputs := pm(map[string]any{
		"create":  "echo visible-stdout; echo visible-stderr >&2",
		"logging": "none",
	})
	inputs["connection"] = srv.connection(nil)
	state, err := doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state, "stdout"); out != "visible-stdout" {
		t.Errorf("logging must not change captured stdout: %q", out)
	}
	mustNotContain(t, "log", logs.all(), "visible-stdout", "visible-stderr")

	// The command text must not contain the output it prints, so
	// build the words at run time.
	inputs["create"] = resource.NewStringProperty("x=std; echo hidden-${x}out; echo hidden-${x}err >&2; exit 1")
	_, err = doCreate(t, p, remoteURN, inputs)
	if err == nil {
		t.Fatal("expected an error")
	}
	mustNotContain(t, "error", err.Error(), "hidden-stdout", "hidden-stderr")
	mustNotContain(t, "log", logs.all(), "hidden-stdout", "hidden-stderr")
	mustContain(t, "error", err.Error(), "status 1", `logging is "none"`)

	// logging: stderr shows only stderr.
	p2, logs2 := newTestProvider()
	inputs["logging"] = resource.NewStringProperty("stderr")
	_, err = doCreate(t, p2, remoteURN, inputs)
	mustContain(t, "error", err.Error(), "hidden-stderr")
	mustNotContain(t, "error", err.Error(), "hidden-stdout")
	mustNotContain(t, "log", logs2.all(), "hidden-stdout")
}

func TestRemoteHostKey(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, _ := newTestProvider()
	line := strings.TrimSpace(srv.authorizedKeyLine())
	for name, hostKey := range map[string]string{
		"authorized_keys line": line + " root@server",
		"known_hosts line":     "[127.0.0.1]:2222 " + line,
		"bare base64":          strings.Fields(line)[1],
	} {
		t.Run(name, func(t *testing.T) {
			inputs := pm(map[string]any{"create": "echo ok"})
			inputs["connection"] = srv.connection(map[string]any{"hostKey": hostKey})
			state, err := doCreate(t, p, remoteURN, inputs)
			if err != nil {
				t.Fatal(err)
			}
			if out, _ := str(t, state, "stdout"); out != "ok" {
				t.Errorf("stdout = %q", out)
			}
		})
	}

	t.Run("mismatch", func(t *testing.T) {
		_, other := newKeyPair(t)
		inputs := pm(map[string]any{"create": "echo must-not-run"})
		inputs["connection"] = srv.connection(map[string]any{
			"hostKey":        string(ssh.MarshalAuthorizedKey(other.PublicKey())),
			"dialErrorLimit": float64(10),
		})
		start := time.Now()
		_, err := doCreate(t, p, remoteURN, inputs)
		if err == nil {
			t.Fatal("expected a host key error")
		}
		mustContain(t, "error", err.Error(), "host key verification failed", ssh.FingerprintSHA256(other.PublicKey()),
			ssh.FingerprintSHA256(srv.hostSigner.PublicKey()))
		if time.Since(start) > 3*time.Second {
			t.Errorf("a host key mismatch must fail at once, not be retried (took %s)", time.Since(start))
		}
		for _, c := range srv.commands() {
			if strings.Contains(c, "must-not-run") {
				t.Error("command ran despite the host key mismatch")
			}
		}
	})

	t.Run("unparseable", func(t *testing.T) {
		inputs := pm(map[string]any{"create": "true"})
		inputs["connection"] = srv.connection(map[string]any{"hostKey": "not a key"})
		resp := doCheck(t, p, remoteURN, inputs)
		if len(resp.Failures) != 1 || resp.Failures[0].Property != "connection.hostKey" {
			t.Fatalf("failures = %v", resp.Failures)
		}
	})
}

func TestRemoteAuthMethods(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, _ := newTestProvider()
	run := func(extra map[string]any) (string, error) {
		inputs := pm(map[string]any{"create": "echo authed"})
		inputs["connection"] = srv.connection(extra)
		state, err := doCreate(t, p, remoteURN, inputs)
		if err != nil {
			return "", err
		}
		out, _ := str(t, state, "stdout")
		return out, nil
	}
	if out, err := run(map[string]any{"privateKey": nil, "password": srv.password}); err != nil || out != "authed" {
		t.Errorf("password auth: %q %v", out, err)
	}

	clientPriv, clientSigner := newKeyPair(t)
	_ = clientSigner
	encrypted := pemOf(t, clientPriv, "s3cret-pass")
	// Not the authorized key, but it must parse (then fail to authenticate).
	_, err := run(map[string]any{"privateKey": encrypted, "dialErrorLimit": float64(1)})
	mustContain(t, "error", err.Error(), "privateKeyPassword")
	_, err = run(map[string]any{"privateKey": encrypted, "privateKeyPassword": "s3cret-pass", "dialErrorLimit": float64(1)})
	mustContain(t, "error", err.Error(), "unable to authenticate")
	mustNotContain(t, "error", err.Error(), "s3cret-pass", "PRIVATE KEY")

	_, err = run(map[string]any{"privateKey": nil})
	if err == nil && os.Getenv("SSH_AUTH_SOCK") == "" {
		t.Error("no credentials must fail")
	}
}

func TestRemoteDialRetries(t *testing.T) {
	// A port nothing listens on: every dial fails at once.
	srv := startTestSSHServer(t, false)
	srv.listener.Close()
	p, _ := newTestProvider()
	inputs := pm(map[string]any{"create": "true"})
	inputs["connection"] = srv.connection(map[string]any{"dialErrorLimit": float64(3)})
	start := time.Now()
	_, err := doCreate(t, p, remoteURN, inputs)
	if err == nil {
		t.Fatal("expected an error")
	}
	mustContain(t, "error", err.Error(), "after 3 attempt(s)", "connection refused")
	// Backoff 0.5s + 1s between the three attempts.
	if d := time.Since(start); d < 1400*time.Millisecond || d > 10*time.Second {
		t.Errorf("retries took %s", d)
	}
}

func TestRemoteProxy(t *testing.T) {
	bastion := startTestSSHServer(t, false)
	target := startTestSSHServer(t, false)
	p, _ := newTestProvider()
	inputs := pm(map[string]any{"create": "echo via-proxy"})
	conn := target.connection(nil).SecretValue().Element.ObjectValue()
	conn["hostKey"] = resource.NewStringProperty(target.authorizedKeyLine())
	conn["proxy"] = bastion.connection(map[string]any{"hostKey": bastion.authorizedKeyLine()}).SecretValue().Element
	inputs["connection"] = resource.MakeSecret(resource.NewObjectProperty(conn))
	state, err := doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state, "stdout"); out != "via-proxy" {
		t.Errorf("stdout = %q", out)
	}
	if bastion.authCount() != 1 || target.authCount() != 1 {
		t.Errorf("auths: bastion %d, target %d", bastion.authCount(), target.authCount())
	}
}

func TestRemoteSecretsPreserved(t *testing.T) {
	srv := startTestSSHServer(t, false)
	p, _ := newTestProvider()
	inputs := pm(map[string]any{"create": "echo plain"})
	inputs["connection"] = srv.connection(nil)
	state, err := doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if !state["connection"].IsSecret() {
		t.Error("connection must stay secret")
	}
	// A connection whose private key alone is secret keeps that key secret.
	conn := srv.connection(nil).SecretValue().Element.ObjectValue()
	conn["privateKey"] = resource.MakeSecret(conn["privateKey"])
	inputs["connection"] = resource.NewObjectProperty(conn)
	state, err = doCreate(t, p, remoteURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if !state["connection"].ObjectValue()["privateKey"].IsSecret() {
		t.Error("connection.privateKey must stay secret")
	}
	if _, isSecret := str(t, state, "stdout"); !isSecret {
		t.Error("stdout must be secret when the connection has secrets")
	}
}
