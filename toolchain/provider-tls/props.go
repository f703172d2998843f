package main

// Shared helpers for moving property maps across the gRPC boundary and reading typed values out
// of them.
//
// Values sent by the engine can be wrapped as secrets (at any depth, e.g. a single secret element
// of a list) and, during previews, can be unknown. The readers below see through secret wrappers
// and report unknowns, so a resource can validate what is known and skip what is not. Outputs are
// built from the *wrapped* inputs, which is how secretness is carried from inputs to outputs.

import (
	"fmt"
	"math"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// wireOptions keeps secrets and unknowns intact in both directions and drops nulls, so that an
// absent property and an explicit null/undefined read the same way.
func wireOptions(label string) plugin.MarshalOptions {
	return plugin.MarshalOptions{Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
}

func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, wireOptions(label))
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, wireOptions(label))
}

// unknown is the value of a computed output during a preview.
func unknown() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

// unwrap removes secret wrappers around a value (not inside it).
func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// plain removes secret wrappers at every depth; used to compare values regardless of secretness.
func plain(v resource.PropertyValue) resource.PropertyValue {
	v = unwrap(v)
	switch {
	case v.IsArray():
		out := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			out[i] = plain(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = plain(e)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

// secretIf wraps v as a secret when cond holds and v is not already one.
func secretIf(cond bool, v resource.PropertyValue) resource.PropertyValue {
	if cond && !v.IsSecret() {
		return resource.MakeSecret(v)
	}
	return v
}

// props is a read-only view of a property map with typed accessors. Accessors return the zero
// value for absent properties; callers that care use has/known first.
type props resource.PropertyMap

func (p props) get(key string) (resource.PropertyValue, bool) {
	v, ok := p[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return resource.PropertyValue{}, false
	}
	return v, true
}

// has reports whether the property is present and not null (it may still be unknown).
func (p props) has(key string) bool {
	_, ok := p.get(key)
	return ok
}

// known reports whether the property is present and fully known (no unknowns at any depth).
func (p props) known(key string) bool {
	v, ok := p.get(key)
	return ok && !v.ContainsUnknowns()
}

func (p props) str(key string) string {
	v, _ := p.get(key)
	if v = unwrap(v); v.IsString() {
		return v.StringValue()
	}
	return ""
}

func (p props) boolean(key string) bool {
	v, _ := p.get(key)
	if v = unwrap(v); v.IsBool() {
		return v.BoolValue()
	}
	return false
}

func (p props) integer(key string) int64 {
	v, _ := p.get(key)
	if v = unwrap(v); v.IsNumber() {
		return int64(v.NumberValue())
	}
	return 0
}

func (p props) strings(key string) []string {
	v, _ := p.get(key)
	v = unwrap(v)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e = unwrap(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func (p props) object(key string) props {
	v, _ := p.get(key)
	if v = unwrap(v); v.IsObject() {
		return props(v.ObjectValue())
	}
	return props{}
}

// checker validates a resource's inputs and applies defaults, collecting one failure per bad
// property (named as the npm SDK names it) instead of stopping at the first one.
type checker struct {
	in       props
	failures []*pulumirpc.CheckFailure
}

func (c *checker) fail(property, format string, args ...any) {
	c.failures = append(c.failures, &pulumirpc.CheckFailure{Property: property, Reason: fmt.Sprintf(format, args...)})
}

// typed checks the shape of a present, known property; wrong types are reported and false is
// returned so that callers skip further validation of that property.
func (c *checker) typed(key, want string) bool {
	v, ok := c.in.get(key)
	if !ok || v.ContainsUnknowns() {
		return false
	}
	v = unwrap(v)
	good := false
	switch want {
	case "string":
		good = v.IsString()
	case "boolean":
		good = v.IsBool()
	case "integer":
		good = v.IsNumber() && v.NumberValue() == math.Trunc(v.NumberValue())
	case "object":
		good = v.IsObject()
	case "string[]":
		good = v.IsArray()
		if good {
			for _, e := range v.ArrayValue() {
				if e = unwrap(e); !e.IsString() {
					good = false
				}
			}
		}
	}
	if !good {
		c.fail(key, "%s must be a %s, not %s", key, want, v.TypeString())
	}
	return good
}

// required reports a missing property; unknown values count as present.
func (c *checker) required(key string) bool {
	if !c.in.has(key) {
		c.fail(key, "Missing required property '%s'", key)
		return false
	}
	return true
}

// defaultTo sets an absent property to its documented default value.
func (c *checker) defaultTo(key string, v resource.PropertyValue) {
	if !c.in.has(key) {
		c.in[resource.PropertyKey(key)] = v
	}
}

// oneOf checks a known string property against its accepted values.
func (c *checker) oneOf(key string, accepted ...string) {
	if !c.typed(key, "string") {
		return
	}
	got := c.in.str(key)
	for _, a := range accepted {
		if got == a {
			return
		}
	}
	c.fail(key, "%s must be one of %v, got %q", key, accepted, got)
}

// atLeast checks a known integer property against a lower bound.
func (c *checker) atLeast(key string, min int64) {
	if c.typed(key, "integer") && c.in.integer(key) < min {
		c.fail(key, "%s must be at least %d, got %d", key, min, c.in.integer(key))
	}
}

// unsupported rejects properties of the SDK that this provider deliberately does not implement.
func (c *checker) unsupported(key, why string) {
	if c.in.has(key) {
		c.fail(key, "%s is not supported by this tls provider: %s", key, why)
	}
}
