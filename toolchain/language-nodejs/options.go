package main

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// runtimeOptions are the `runtime.options` of Pulumi.yaml that this host
// understands. Others (packagemanager, ...) are accepted and ignored.
type runtimeOptions struct {
	typescript bool     // run the program through the SDK's ts-node support
	nodeArgs   []string // extra node flags, e.g. "--max-old-space-size=4096"
	tsconfig   string   // tsconfig file other than ./tsconfig.json
}

func parseRuntimeOptions(info *pulumirpc.ProgramInfo) (runtimeOptions, error) {
	opts := runtimeOptions{typescript: true}
	if info.GetOptions() == nil {
		return opts, nil
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, fmt.Errorf("runtime option 'typescript' must be a boolean, got %v", v)
		}
		opts.typescript = b
	}
	if v, ok := m["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, fmt.Errorf("runtime option 'nodeargs' must be a string, got %v", v)
		}
		// Split on whitespace only: quoting is not supported, which is
		// enough for node flags.
		opts.nodeArgs = strings.Fields(s)
	}
	if v, ok := m["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, fmt.Errorf("runtime option 'tsconfig' must be a string, got %v", v)
		}
		opts.tsconfig = s
	}
	return opts, nil
}

// findNode returns `node` from PATH. The project needs Node >= 22 while the
// system node may be older; npm scripts (and the smoke script) put
// node_modules/.bin, where the `node` package installs Node 22, first on PATH.
func findNode() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("could not find `node` on PATH; run Pulumi through an npm script " +
			"or put node_modules/.bin first on PATH")
	}
	return node, nil
}

// findSDKFile looks for node_modules/@pulumi/pulumi/<rel> in dir and its
// parents, as Node's own module resolution would from a file in dir.
func findSDKFile(dir, rel string) (string, error) {
	p, err := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", rel))
	if err != nil {
		return "", fmt.Errorf("could not find @pulumi/pulumi/%s above %s; have the project's "+
			"dependencies been installed (npm ci)?", rel, dir)
	}
	return p, nil
}
