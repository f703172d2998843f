// Command pulumi-resource-tls is this project's own implementation of the Pulumi tls provider
// plugin, for the subset of @pulumi/tls the program uses (the official plugin cannot be built
// here). It speaks the standard provider gRPC protocol, so the engine loads it like any plugin.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is set at build time (-ldflags "-X main.version=5.6.1") to the @pulumi/tls version the
// plugin stands in for; the engine matches plugins to SDKs by it.
var version = "0.0.0-dev"

func main() {
	err := provider.Main("tls", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newProvider(version), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
