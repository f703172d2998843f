// Command pulumi-language-nodejs is a small Node.js language host for the
// Pulumi engine. The official host cannot be fetched on this project's
// machines, so this one implements the parts of the LanguageRuntime gRPC
// service that `pulumi preview/up/refresh/destroy` and the Automation API use.
//
// The engine starts it as
//
//	pulumi-language-nodejs [--logtostderr] [-v=N] [--tracing URL] ENGINE_ADDR
//
// and reads the gRPC port it listens on from the first line of stdout.
// Everything written to stdout/stderr after that line is shown to the user,
// which is why the Node.js program's output is passed straight through.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

func main() {
	// The engine forwards its own logging and tracing flags to every plugin.
	// glog, linked in through the SDK, already defines -v and -logtostderr;
	// define them only if it ever stops doing so. InitLogging reads both from
	// the flag set.
	if flag.Lookup("logtostderr") == nil {
		flag.Bool("logtostderr", false, "log to stderr instead of a file")
	}
	if flag.Lookup("v") == nil {
		flag.Int("v", 0, "log verbosity")
	}
	logFlow := flag.Bool("logflow", false, "flow log settings to child processes")
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint")
	flag.Parse()

	logging.InitLogging(false, 0, *logFlow)
	if *tracing != "" {
		cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracing)
		defer cmdutil.CloseTracing()
	}

	// The engine address is optional: when attaching for debugging
	// (PULUMI_DEBUG_LANGUAGES) the engine sends it in Handshake instead.
	engineAddr := ""
	if flag.NArg() > 0 {
		engineAddr = flag.Arg(0)
	}

	host := newHost(engineAddr, *tracing)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Exit when the engine goes away, so that a crashed or killed `pulumi`
	// does not leave this process (and a node child) running forever.
	if engineAddr != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddr, 5*time.Second, cancel); err != nil {
			fatalf("could not start health check for engine %s: %v", engineAddr, err)
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopOnDone(ctx, host),
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fatalf("could not start language host RPC server: %v", err)
	}

	// The engine waits for exactly this line.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fatalf("language host RPC server stopped: %v", err)
	}
	host.killChildren()
}

// stopOnDone adapts a context to the bool channel rpcutil.ServeOptions uses
// to stop the server. Children are killed first: a graceful stop waits for
// in-flight RPCs, and Run only returns once its node process has exited.
func stopOnDone(ctx context.Context, host *languageHost) chan bool {
	ch := make(chan bool)
	go func() {
		<-ctx.Done()
		host.killChildren()
		close(ch)
	}()
	return ch
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", args...)
	os.Exit(1)
}
