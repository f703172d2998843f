package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	localURN  = "urn:pulumi:test::proj::command:local:Command::cmd"
	remoteURN = "urn:pulumi:test::proj::command:remote:Command::cmd"
)

// recordingLogger keeps everything the provider would have sent to the
// engine, so tests can check what a user would see.
type recordingLogger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *recordingLogger) Log(_ context.Context, _ diag.Severity, _ resource.URN, msg string, ephemeral bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prefix := "log: "
	if ephemeral {
		prefix = "status: "
	}
	l.msgs = append(l.msgs, prefix+msg)
}

func (l *recordingLogger) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

func newTestProvider() (*commandProvider, *recordingLogger) {
	logger := &recordingLogger{}
	return newCommandProvider("1.2.1-test", logger), logger
}

func pm(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

func secret(v any) resource.PropertyValue { return resource.MakeSecret(resource.NewPropertyValue(v)) }

func toStruct(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshalProps(m, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fromStruct(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshalProps(s, "test")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func typeOf(urn string) string { return string(resource.URN(urn).Type()) }

func doCreate(t *testing.T, p *commandProvider, urn string, inputs resource.PropertyMap) (resource.PropertyMap, error) {
	t.Helper()
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urn, Type: typeOf(urn), Name: "cmd", Properties: toStruct(t, inputs),
	})
	if err != nil {
		return nil, err
	}
	if resp.Id == "" {
		t.Fatal("create returned no id")
	}
	return fromStruct(t, resp.Properties), nil
}

func doUpdate(t *testing.T, p *commandProvider, urn string, olds, news resource.PropertyMap) (resource.PropertyMap, error) {
	t.Helper()
	resp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: urn, Type: typeOf(urn), Id: "cmd-1", Olds: toStruct(t, olds), News: toStruct(t, news),
	})
	if err != nil {
		return nil, err
	}
	return fromStruct(t, resp.Properties), nil
}

func doDelete(t *testing.T, p *commandProvider, urn string, state resource.PropertyMap) error {
	t.Helper()
	_, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: urn, Type: typeOf(urn), Id: "cmd-1", Properties: toStruct(t, state),
	})
	return err
}

func doDiff(t *testing.T, p *commandProvider, urn string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urn, Type: typeOf(urn), Id: "cmd-1", Olds: toStruct(t, olds), News: toStruct(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func doCheck(t *testing.T, p *commandProvider, urn string, news resource.PropertyMap) *pulumirpc.CheckResponse {
	t.Helper()
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: urn, Type: typeOf(urn), News: toStruct(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// str reads a string output, reporting whether it was secret.
func str(t *testing.T, m resource.PropertyMap, key string) (string, bool) {
	t.Helper()
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		t.Fatalf("output %q missing; have %v", key, m)
	}
	isSecret := v.IsSecret()
	v = reveal(v)
	if !v.IsString() {
		t.Fatalf("output %q is not a string: %v", key, v)
	}
	return v.StringValue(), isSecret
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(s, part) {
			t.Errorf("%s does not contain %q:\n%s", what, part, s)
		}
	}
}

func mustNotContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if strings.Contains(s, part) {
			t.Errorf("%s contains %q but must not:\n%s", what, part, s)
		}
	}
}
