// Command pulumi-resource-docker is this project's stand-in for the docker provider plugin that
// @pulumi/docker expects. The official plugin cannot be built from the Go module proxy here, so
// this one implements, over the Docker Engine HTTP API, only what the project uses: provider
// configuration (host, mutual-TLS material) and the read-only functions getNetwork,
// getRemoteImage and getLogs. Every resource type fails with a clear "not implemented" error.
package main

import (
	"fmt"
	"os"

	pprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is reported by GetPluginInfo; the build sets it to the @pulumi/docker pin with
// -ldflags "-X main.version=5.2.0" so the engine matches it to the SDK's requested version.
var version = "0.0.0-dev"

func main() {
	err := pprovider.Main("docker", func(host *pprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(host), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
