package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestLocalLifecycle(t *testing.T) {
	p, logs := newTestProvider()
	dir := t.TempDir()
	inputs := pm(map[string]any{
		"create":      "echo created >> op.txt; echo \"$GREETING from $(pwd)\"",
		"update":      "echo \"updated prev=$PULUMI_COMMAND_STDOUT\" >> op.txt; cat",
		"delete":      "echo \"deleted prev=$PULUMI_COMMAND_STDOUT\" >> op.txt",
		"dir":         dir,
		"environment": map[string]any{"GREETING": "hi"},
	})
	state, err := doCreate(t, p, localURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state, "stdout"); out != "hi from "+dir {
		t.Errorf("stdout = %q", out)
	}
	mustContain(t, "log", logs.all(), "log: hi from")

	news := inputs.Copy()
	news["stdin"] = resource.NewStringProperty("from-stdin")
	state2, err := doUpdate(t, p, localURN, state, news)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state2, "stdout"); out != "from-stdin" {
		t.Errorf("update stdout = %q", out)
	}
	if err := doDelete(t, p, localURN, state2); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "op.txt"))
	want := "created\nupdated prev=hi from " + dir + "\ndeleted prev=from-stdin\n"
	if string(got) != want {
		t.Errorf("operations:\n%s\nwant:\n%s", got, want)
	}
}

func TestLocalInterpreterAndNoPreviousOutput(t *testing.T) {
	p, _ := newTestProvider()
	inputs := pm(map[string]any{
		"create":                 "print-me",
		"interpreter":            []any{"/bin/echo", "arg:"},
		"addPreviousOutputInEnv": false,
	})
	state, err := doCreate(t, p, localURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state, "stdout"); out != "arg: print-me" {
		t.Errorf("stdout = %q", out)
	}
	news := inputs.Copy()
	news["interpreter"] = resource.NewPropertyValue([]any{"/bin/sh", "-c"})
	news["update"] = resource.NewStringProperty(`echo "[${PULUMI_COMMAND_STDOUT-unset}]"`)
	state2, err := doUpdate(t, p, localURN, state, news)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := str(t, state2, "stdout"); out != "[unset]" {
		t.Errorf("addPreviousOutputInEnv=false must not set PULUMI_COMMAND_STDOUT; got %q", out)
	}
}

func TestLocalFailure(t *testing.T) {
	p, logs := newTestProvider()
	inputs := pm(map[string]any{"create": "cat >/dev/null; echo partial; echo 'bad thing' >&2; exit 4"})
	inputs["stdin"] = secret("top-secret-stdin")
	_, err := doCreate(t, p, localURN, inputs)
	if err == nil {
		t.Fatal("expected an error")
	}
	mustContain(t, "error", err.Error(), "exit status 4", "bad thing", "partial")
	mustNotContain(t, "error", err.Error(), "top-secret-stdin")
	mustNotContain(t, "log", logs.all(), "top-secret-stdin")

	// A secret command is not quoted back.
	inputs = pm(map[string]any{})
	inputs["create"] = secret(": token=abcdef123456; exit 1")
	_, err = doCreate(t, p, localURN, inputs)
	mustContain(t, "error", err.Error(), "secret create command", "exit status 1")
	mustNotContain(t, "error", err.Error(), "abcdef123456")
}

func TestLocalLoggingStdout(t *testing.T) {
	p, logs := newTestProvider()
	inputs := pm(map[string]any{"create": "echo shown; echo not-shown >&2", "logging": "stdout"})
	state, err := doCreate(t, p, localURN, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if errOut, _ := str(t, state, "stderr"); errOut != "not-shown" {
		t.Errorf("stderr still captured: %q", errOut)
	}
	mustContain(t, "log", logs.all(), "shown")
	mustNotContain(t, "log", logs.all(), "not-shown")
}

func TestLocalPreviewRunsNothing(t *testing.T) {
	p, _ := newTestProvider()
	marker := filepath.Join(t.TempDir(), "ran")
	inputs := pm(map[string]any{"create": "touch " + marker})
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: localURN, Type: tokenLocalCommand, Properties: toStruct(t, inputs), Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("preview ran the command")
	}
	outs := fromStruct(t, resp.Properties)
	if !outs["stdout"].IsComputed() || !outs["stderr"].IsComputed() {
		t.Errorf("preview outputs must be unknown: %v", outs)
	}

	uresp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: localURN, Type: tokenLocalCommand, Olds: toStruct(t, inputs), News: toStruct(t, inputs), Preview: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("update preview ran the command")
	}
	if !fromStruct(t, uresp.Properties)["stdout"].IsComputed() {
		t.Error("update preview stdout must be unknown")
	}
}

func TestLocalCancel(t *testing.T) {
	p, _ := newTestProvider()
	inputs := pm(map[string]any{"create": "sleep 30"})
	go func() {
		time.Sleep(300 * time.Millisecond)
		p.Cancel(context.Background(), nil)
	}()
	start := time.Now()
	_, err := doCreate(t, p, localURN, inputs)
	if err == nil || !strings.Contains(err.Error(), "cancel") {
		t.Fatalf("expected a cancellation error, got %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("cancel did not stop the command")
	}
}

func TestLocalRunInvoke(t *testing.T) {
	p, _ := newTestProvider()
	args := pm(map[string]any{"command": "echo \"$X\"; cat", "environment": map[string]any{"X": "from-env"}})
	args["stdin"] = secret("from-stdin")
	resp, err := p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tokenLocalRun, Args: toStruct(t, args)})
	if err != nil {
		t.Fatal(err)
	}
	ret := fromStruct(t, resp.Return)
	out, isSecret := str(t, ret, "stdout")
	if out != "from-env\nfrom-stdin" || !isSecret {
		t.Errorf("stdout = %q secret=%v", out, isSecret)
	}

	resp, err = p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tokenLocalRun, Args: toStruct(t, pm(map[string]any{}))})
	if err != nil || len(resp.Failures) != 1 || resp.Failures[0].Property != "command" {
		t.Errorf("missing command: %v %v", resp, err)
	}
}
