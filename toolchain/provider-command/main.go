// Command pulumi-resource-command is a resource provider plugin for the
// Pulumi engine that implements the `command` package (the tokens, property
// names and documented behaviour of @pulumi/command 1.2.1): command:local:Command,
// command:remote:Command and the command:local:run function.
//
// It exists because the official plugin cannot be built here; see README.md.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is reported to the engine by GetPluginInfo. Release builds set it
// with -ldflags "-X main.version=1.2.1" to match the SDK package version.
var version = "0.0.0-dev"

func main() {
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		var logger engineLogger = discardLogger{}
		if host != nil {
			logger = hostLogger{host}
		}
		return newCommandProvider(version, logger), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// hostLogger sends messages to the engine. Failures to log are ignored: the
// command's result matters more than one lost line of output.
type hostLogger struct{ host *provider.HostClient }

func (h hostLogger) Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string, ephemeral bool) {
	// The step's context may already be cancelled when the last lines are
	// flushed; the message is still worth delivering.
	ctx = context.WithoutCancel(ctx)
	if ephemeral {
		_ = h.host.LogStatus(ctx, sev, urn, msg)
	} else {
		_ = h.host.Log(ctx, sev, urn, msg)
	}
}
