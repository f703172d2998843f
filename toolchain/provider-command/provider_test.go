package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestDiff(t *testing.T) {
	p, _ := newTestProvider()
	base := pm(map[string]any{
		"create":   "echo a",
		"triggers": []any{"v1", 2},
		"stdin":    "in",
	})
	// The state also holds outputs; they are not inputs and never a diff.
	state := base.Copy()
	state["stdout"] = resource.NewStringProperty("a")
	state["stderr"] = resource.NewStringProperty("")

	t.Run("no change", func(t *testing.T) {
		d := doDiff(t, p, localURN, state, base)
		if d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
			t.Errorf("changes = %v, diffs %v", d.Changes, d.Diffs)
		}
	})
	t.Run("triggers replace", func(t *testing.T) {
		news := base.Copy()
		news["triggers"] = resource.NewPropertyValue([]any{"v2", 2})
		d := doDiff(t, p, localURN, state, news)
		if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 1 || d.Replaces[0] != "triggers" {
			t.Errorf("diff = %v", d)
		}
		if d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
			t.Errorf("kind = %v", d.DetailedDiff["triggers"].Kind)
		}
	})
	for _, key := range []string{"create", "update", "delete", "stdin", "environment", "logging", "connection"} {
		t.Run(key+" updates", func(t *testing.T) {
			news := base.Copy()
			switch key {
			case "environment", "connection":
				news[resource.PropertyKey(key)] = resource.NewPropertyValue(map[string]any{"host": "h"})
			default:
				news[resource.PropertyKey(key)] = resource.NewStringProperty("none")
			}
			d := doDiff(t, p, localURN, state, news)
			if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
				t.Errorf("diff = %v", d)
			}
			if len(d.Diffs) != 1 || d.Diffs[0] != key {
				t.Errorf("diffs = %v", d.Diffs)
			}
		})
	}
	t.Run("secret marker alone is no change", func(t *testing.T) {
		news := base.Copy()
		news["stdin"] = resource.MakeSecret(news["stdin"])
		if d := doDiff(t, p, localURN, state, news); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
			t.Errorf("diff = %v", d)
		}
	})
	t.Run("unknown value is a change", func(t *testing.T) {
		news := base.Copy()
		news["create"] = resource.MakeComputed(resource.NewStringProperty(""))
		d := doDiff(t, p, localURN, state, news)
		if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || d.Diffs[0] != "create" {
			t.Errorf("diff = %v", d)
		}
		news["triggers"] = resource.MakeComputed(resource.NewStringProperty(""))
		if d := doDiff(t, p, localURN, state, news); len(d.Replaces) != 1 {
			t.Errorf("unknown triggers must replace: %v", d)
		}
	})
	t.Run("removed triggers replace", func(t *testing.T) {
		news := base.Copy()
		delete(news, "triggers")
		d := doDiff(t, p, localURN, state, news)
		if len(d.Replaces) != 1 || d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_DELETE_REPLACE {
			t.Errorf("diff = %v", d)
		}
	})
}

func TestCheck(t *testing.T) {
	p, _ := newTestProvider()
	cases := []struct {
		name     string
		urn      string
		inputs   resource.PropertyMap
		property string // "" when valid
	}{
		{"local ok", localURN, pm(map[string]any{"create": "true", "logging": "stdoutAndStderr"}), ""},
		{"bad logging", localURN, pm(map[string]any{"create": "true", "logging": "loud"}), "logging"},
		{"bad env name", localURN, pm(map[string]any{"environment": map[string]any{"A-B": "x"}}), "environment"},
		{"asset paths", localURN, pm(map[string]any{"assetPaths": []any{"*.txt"}}), "assetPaths"},
		{"remote without connection", remoteURN, pm(map[string]any{"create": "true"}), "connection"},
		{"remote without host", remoteURN, pm(map[string]any{"connection": map[string]any{"user": "u"}}), "connection.host"},
		{"remote bad port", remoteURN, pm(map[string]any{"connection": map[string]any{"host": "h", "port": 70000}}), "connection.port"},
		{"remote unknown host", remoteURN, resource.PropertyMap{"connection": resource.NewObjectProperty(resource.PropertyMap{
			"host": resource.MakeComputed(resource.NewStringProperty("")),
		})}, ""},
		{"remote unknown connection", remoteURN, resource.PropertyMap{"connection": resource.MakeComputed(resource.NewStringProperty(""))}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := doCheck(t, p, c.urn, c.inputs)
			switch {
			case c.property == "" && len(resp.Failures) > 0:
				t.Errorf("unexpected failures %v", resp.Failures)
			case c.property != "" && (len(resp.Failures) != 1 || resp.Failures[0].Property != c.property):
				t.Errorf("failures = %v, want one for %s", resp.Failures, c.property)
			}
		})
	}

	_, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:s::p::command:remote:CopyToRemote::x", News: toStruct(t, pm(nil))})
	if err == nil {
		t.Error("an unknown type must be refused")
	}
}

func TestConfigureAndInfo(t *testing.T) {
	p, _ := newTestProvider()
	resp, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{})
	if err != nil || !resp.AcceptSecrets || !resp.SupportsPreview {
		t.Errorf("configure = %v %v", resp, err)
	}
	info, _ := p.GetPluginInfo(context.Background(), nil)
	if info.Version != "1.2.1-test" {
		t.Errorf("version = %q", info.Version)
	}
	schema, _ := p.GetSchema(context.Background(), &pulumirpc.GetSchemaRequest{})
	var parsed map[string]any
	if err := json.Unmarshal([]byte(schema.Schema), &parsed); err != nil || parsed["name"] != "command" {
		t.Errorf("schema: %v", err)
	}
}

func TestRead(t *testing.T) {
	p, _ := newTestProvider()
	state := toStruct(t, pm(map[string]any{"create": "x", "stdout": "y"}))
	resp, err := p.Read(context.Background(), &pulumirpc.ReadRequest{Urn: localURN, Type: tokenLocalCommand, Id: "cmd-1", Properties: state, Inputs: state})
	if err != nil || resp.Id != "cmd-1" || resp.Properties != state {
		t.Errorf("read = %v %v", resp, err)
	}
}

func TestEnvEscapingRoundTrip(t *testing.T) {
	// Decode with the same shell the preamble targets.
	env := map[string]string{"A": "x\n\ny\n", "B": "\x01\xff\\0101", "C": "9\\c stop"}
	want := "x\n\ny\n|\x01\xff\\0101|9\\c stop|rest"
	for _, shell := range []string{"/bin/sh", "/bin/bash", "/bin/dash", "/usr/bin/zsh", "/bin/busybox"} {
		if _, err := os.Stat(shell); err != nil {
			continue
		}
		t.Run(shell, func(t *testing.T) {
			args := []string{"-c"}
			if strings.HasSuffix(shell, "busybox") {
				args = []string{"sh", "-c"}
			}
			cmd := exec.Command(shell, append(args, envBootstrap+`printf '%s|' "$A" "$B" "$C"; cat`)...)
			cmd.Stdin = strings.NewReader(string(encodeEnvPreamble(env)) + "rest")
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != want {
				t.Errorf("got %q (%v) want %q", out, err, want)
			}
		})
	}
}
