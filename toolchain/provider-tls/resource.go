package main

// The lifecycle every tls resource shares. All of them are logical resources: they exist only in
// the Pulumi state, so Create computes everything, Read has nothing to look up, Delete has nothing
// to remove, and (as upstream marks every input ForceNew) any input change means a new resource.
// Each resource file only describes its properties and how to check and create it.

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type resourceSpec struct {
	// inputs are all input properties; changing one replaces the resource unless it is listed
	// in inPlace.
	inputs  []string
	inPlace []string
	// outputs are the computed-only outputs (unknown during a preview).
	outputs []string
	// secret lists outputs that always hold key material and must never be stored in clear,
	// whether or not the program marked them secret.
	secret []string
	// renews marks certificates, which track readyForRenewal from validityEndTime and
	// earlyRenewalHours and are replaced once it is due.
	renews bool
	// check validates c.in and applies defaults to it.
	check func(c *checker)
	// create computes the ID and the computed outputs from checked, fully known inputs.
	create func(in props) (id string, outs resource.PropertyMap, err error)
}

// checkInputs validates new inputs, returning them with defaults applied.
func (s *resourceSpec) checkInputs(news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	c := &checker{in: props(news.Copy())}
	for _, key := range news.StableKeys() {
		if !slices.Contains(s.inputs, string(key)) {
			c.fail(string(key), "unknown property %q", key)
		}
	}
	s.check(c)
	return resource.PropertyMap(c.in), c.failures
}

// diff compares the stored outputs (which include the inputs) with the new checked inputs.
func (s *resourceSpec) diff(olds, news resource.PropertyMap, ignoreChanges []string) *pulumirpc.DiffResponse {
	res := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	add := func(key string, kind pulumirpc.PropertyDiff_Kind, replace, input bool) {
		if replace {
			kind++ // each *_REPLACE kind directly follows its plain kind
			res.Replaces = append(res.Replaces, key)
		}
		res.Diffs = append(res.Diffs, key)
		res.DetailedDiff[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: input}
		res.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}

	o, n := props(olds), props(news)
	for _, key := range s.inputs {
		if slices.Contains(ignoreChanges, key) {
			continue
		}
		replace := !slices.Contains(s.inPlace, key)
		ov, hasOld := o.get(key)
		nv, hasNew := n.get(key)
		switch {
		case !hasOld && !hasNew:
		case hasNew && nv.ContainsUnknowns():
			// Not known until apply: it may change, so plan for the worst.
			add(key, pulumirpc.PropertyDiff_UPDATE, replace, true)
		case !hasOld:
			add(key, pulumirpc.PropertyDiff_ADD, replace, true)
		case !hasNew:
			add(key, pulumirpc.PropertyDiff_DELETE, replace, true)
		case !plain(ov).DeepEquals(plain(nv)):
			// Secretness alone is not a change: compare the underlying values.
			add(key, pulumirpc.PropertyDiff_UPDATE, replace, true)
		}
	}

	// A certificate past its renewal point is, for this provider, gone: plan a new one. The
	// renewal point uses the *new* earlyRenewalHours, so raising it renews early.
	if s.renews && !slices.Contains(ignoreChanges, "readyForRenewal") {
		hours := o.integer("earlyRenewalHours")
		if n.known("earlyRenewalHours") {
			hours = n.integer("earlyRenewalHours")
		}
		if due, ok := stateReadyForRenewal(o, hours); ok && due {
			add("readyForRenewal", pulumirpc.PropertyDiff_UPDATE, true, false)
		}
	}
	return res
}

// createOutputs returns the ID and full outputs for new inputs; in a preview the computed
// outputs are unknown and nothing is generated.
func (s *resourceSpec) createOutputs(inputs resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	outs := inputs.Copy()
	if preview {
		for _, key := range s.outputs {
			outs[resource.PropertyKey(key)] = unknown()
		}
		return "", s.protect(outs), nil
	}
	if inputs.ContainsUnknowns() {
		return "", nil, errors.New("cannot create the resource: some inputs are still unknown")
	}
	id, computed, err := s.create(props(inputs))
	if err != nil {
		return "", nil, err
	}
	for k, v := range computed {
		outs[k] = v
	}
	return id, s.protect(outs), nil
}

// updateOutputs applies an in-place change (only earlyRenewalHours qualifies) to stored outputs.
func (s *resourceSpec) updateOutputs(olds, news resource.PropertyMap) resource.PropertyMap {
	outs := olds.Copy()
	for _, key := range s.inPlace {
		k := resource.PropertyKey(key)
		if v, ok := news[k]; ok {
			outs[k] = v
		} else {
			delete(outs, k)
		}
	}
	s.refresh(outs)
	return s.protect(outs)
}

// refresh recomputes readyForRenewal, the only output of a logical resource that time changes.
func (s *resourceSpec) refresh(state resource.PropertyMap) {
	if !s.renews {
		return
	}
	st := props(state)
	if !st.known("earlyRenewalHours") || !st.known("validityEndTime") {
		state["readyForRenewal"] = unknown()
		return
	}
	if due, ok := stateReadyForRenewal(st, st.integer("earlyRenewalHours")); ok {
		state["readyForRenewal"] = resource.NewBoolProperty(due)
	}
}

// protect marks key-material outputs as secrets.
func (s *resourceSpec) protect(outs resource.PropertyMap) resource.PropertyMap {
	for _, key := range s.secret {
		k := resource.PropertyKey(key)
		if v, ok := outs[k]; ok && !v.IsNull() {
			outs[k] = secretIf(true, v)
		}
	}
	return outs
}

// inputsOf picks the input properties out of stored outputs (for Read without stored inputs).
func (s *resourceSpec) inputsOf(state resource.PropertyMap) resource.PropertyMap {
	in := resource.PropertyMap{}
	for _, key := range s.inputs {
		if v, ok := state[resource.PropertyKey(key)]; ok {
			in[resource.PropertyKey(key)] = v
		}
	}
	return in
}

// function is an invoke: it gets its (unwrapped-on-read) arguments and returns its result, or
// failures naming bad arguments.
type function func(args props) (resource.PropertyMap, []*pulumirpc.CheckFailure, error)

func unknownToken(kind, tok string) error {
	return fmt.Errorf("unknown %s %q: this tls provider implements PrivateKey, SelfSignedCert, CertRequest, LocallySignedCert and getPublicKey", kind, tok)
}
