package main

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

// wireOptions keeps secrets and unknowns as markers in both directions, so a
// value that arrived secret can be returned secret and previews can carry
// unknown values.
var wireOptions = plugin.MarshalOptions{
	KeepUnknowns: true,
	KeepSecrets:  true,
	SkipNulls:    true,
}

func unmarshalProps(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	opts := wireOptions
	opts.Label = label
	m, err := plugin.UnmarshalProperties(s, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	if m == nil {
		m = resource.PropertyMap{}
	}
	return m, nil
}

func marshalProps(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	opts := wireOptions
	opts.Label = label
	return plugin.MarshalProperties(m, opts)
}

// reveal strips secret markers recursively, giving the plain value the
// command actually needs. Secretness is tracked separately (see secretsIn).
func reveal(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return reveal(v.SecretValue().Element)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			out[i] = reveal(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		return resource.NewObjectProperty(revealMap(v.ObjectValue()))
	default:
		return v
	}
}

func revealMap(m resource.PropertyMap) resource.PropertyMap {
	out := make(resource.PropertyMap, len(m))
	for k, v := range m {
		out[k] = reveal(v)
	}
	return out
}

// secretStrings collects every string inside a secret in v, for redaction.
func secretStrings(v resource.PropertyValue, inSecret bool, out *[]string) {
	switch {
	case v.IsSecret():
		secretStrings(v.SecretValue().Element, true, out)
	case v.IsString():
		if inSecret {
			*out = append(*out, v.StringValue())
		}
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			secretStrings(e, inSecret, out)
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			secretStrings(e, inSecret, out)
		}
	}
}

// Typed accessors for plain (revealed) property maps. A missing or null
// property is reported as absent, and so is an unknown one (during preview
// Check sees values that other resources have not produced yet: they can only
// be validated later). A property of the wrong type is an error that names
// it, so Check can turn it into a precise failure.

func absent(v resource.PropertyValue, ok bool) bool {
	return !ok || v.IsNull() || v.ContainsUnknowns() && !v.IsObject() && !v.IsArray()
}

func getString(m resource.PropertyMap, key string) (string, bool, error) {
	v, ok := m[resource.PropertyKey(key)]
	if absent(v, ok) {
		return "", false, nil
	}
	if !v.IsString() {
		return "", false, fmt.Errorf("%s must be a string", key)
	}
	return v.StringValue(), true, nil
}

func getBool(m resource.PropertyMap, key string) (bool, bool, error) {
	v, ok := m[resource.PropertyKey(key)]
	if absent(v, ok) {
		return false, false, nil
	}
	if !v.IsBool() {
		return false, false, fmt.Errorf("%s must be a boolean", key)
	}
	return v.BoolValue(), true, nil
}

func getNumber(m resource.PropertyMap, key string) (float64, bool, error) {
	v, ok := m[resource.PropertyKey(key)]
	if absent(v, ok) {
		return 0, false, nil
	}
	if !v.IsNumber() {
		return 0, false, fmt.Errorf("%s must be a number", key)
	}
	return v.NumberValue(), true, nil
}

func getStringList(m resource.PropertyMap, key string) ([]string, error) {
	v, ok := m[resource.PropertyKey(key)]
	if absent(v, ok) {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%s must be a list of strings", key)
	}
	var out []string
	for i, e := range v.ArrayValue() {
		if absent(e, true) {
			continue
		}
		if !e.IsString() {
			return nil, fmt.Errorf("%s[%d] must be a string", key, i)
		}
		out = append(out, e.StringValue())
	}
	return out, nil
}

func getStringMap(m resource.PropertyMap, key string) (map[string]string, error) {
	v, ok := m[resource.PropertyKey(key)]
	if absent(v, ok) {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, fmt.Errorf("%s must be a map of strings", key)
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		if absent(e, true) {
			continue
		}
		if !e.IsString() {
			return nil, fmt.Errorf("%s.%s must be a string", key, k)
		}
		out[string(k)] = e.StringValue()
	}
	return out, nil
}

func getObject(m resource.PropertyMap, key string) (resource.PropertyMap, bool, error) {
	v, ok := m[resource.PropertyKey(key)]
	if absent(v, ok) {
		return nil, false, nil
	}
	if !v.IsObject() {
		return nil, false, fmt.Errorf("%s must be an object", key)
	}
	return v.ObjectValue(), true, nil
}

// sortedKeys gives a deterministic order for environment variables, so the
// same inputs always produce the same process environment and preamble.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
