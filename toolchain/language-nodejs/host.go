package main

import (
	"context"
	"os/exec"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// languageHost implements pulumirpc.LanguageRuntimeServer. Methods the engine
// does not need for this project (code generation, packing, linking, plugins
// written in Node.js) fall through to the embedded Unimplemented server; the
// engine treats Unimplemented as "not supported" where that is optional.
type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	tracing string

	mu         sync.Mutex
	engineAddr string
	children   map[*exec.Cmd]struct{}
}

func newHost(engineAddr, tracing string) *languageHost {
	return &languageHost{
		engineAddr: engineAddr,
		tracing:    tracing,
		children:   map[*exec.Cmd]struct{}{},
	}
}

// Handshake is the engine's first call. It repeats the engine address, which
// is the only way to learn it when the engine attached to an already running
// host instead of starting it.
func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.mu.Lock()
		h.engineAddr = req.GetEngineAddress()
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) engineAddress() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddr
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPlugins and GetRequiredPackages report nothing: this project
// installs its provider plugins explicitly, and the Node.js SDK sends each
// provider's version with every resource registration, which is what the
// engine uses to load it.
func (h *languageHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *languageHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies succeeds without doing anything: dependencies are
// installed by the project (npm ci) before Pulumi runs, and the engine calls
// this from `pulumi install`, `pulumi new` and some Automation API paths.
func (h *languageHost) InstallDependencies(
	_ *pulumirpc.InstallDependenciesRequest,
	stream pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	return stream.Send(&pulumirpc.InstallDependenciesResponse{
		Stdout: []byte("pulumi-language-nodejs: dependencies are installed by the project (npm ci); nothing to do\n"),
	})
}

// RuntimeOptionsPrompts has no questions to ask during `pulumi new`.
func (h *languageHost) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// Cancel is sent when the engine shuts the host down. A program that is still
// running at that point is abandoned, so stop it rather than leak it.
func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.killChildren()
	return &emptypb.Empty{}, nil
}

func (h *languageHost) track(cmd *exec.Cmd) {
	h.mu.Lock()
	h.children[cmd] = struct{}{}
	h.mu.Unlock()
}

func (h *languageHost) untrack(cmd *exec.Cmd) {
	h.mu.Lock()
	delete(h.children, cmd)
	h.mu.Unlock()
}

func (h *languageHost) killChildren() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.children {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	}
}
