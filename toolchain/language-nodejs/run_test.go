package main

import (
	"os/exec"
	"slices"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestRunResponseMapsExitCodes(t *testing.T) {
	exit := func(code string) error { return exec.Command("sh", "-c", "exit "+code).Run() }

	if r := runResponse(nil); r.Error != "" || r.Bail {
		t.Errorf("success: got %v", r)
	}
	// 32: cmd/run already reported the error to the engine, so only bail.
	if r := runResponse(exit("32")); r.Error != "" || !r.Bail {
		t.Errorf("exit 32: got %v", r)
	}
	if r := runResponse(exit("3")); r.Bail || r.Error != "Program exited with non-zero exit code: 3" {
		t.Errorf("exit 3: got %v", r)
	}
}

func TestRunnerFlags(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "p", Stack: "s", Organization: "o",
		DryRun: true, Parallel: 4,
	}
	info := &pulumirpc.ProgramInfo{RootDirectory: "/root"}
	got := runnerFlags(req, info, "/prog", "127.0.0.1:2", "")
	want := []string{
		"--monitor=127.0.0.1:1", "--engine=127.0.0.1:2", "--organization=o", "--project=p",
		"--stack=s", "--pwd=/prog", "--root-directory=/root", "--dry-run", "--parallel=4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestParseRuntimeOptions(t *testing.T) {
	opts, err := parseRuntimeOptions(&pulumirpc.ProgramInfo{})
	if err != nil || !opts.typescript || opts.nodeArgs != nil {
		t.Fatalf("defaults: got %+v, %v", opts, err)
	}

	s, err := structpb.NewStruct(map[string]any{
		"typescript": false, "nodeargs": "--inspect  --max-old-space-size=512", "tsconfig": "tsconfig.pulumi.json",
	})
	if err != nil {
		t.Fatal(err)
	}
	opts, err = parseRuntimeOptions(&pulumirpc.ProgramInfo{Options: s})
	if err != nil {
		t.Fatal(err)
	}
	if opts.typescript || opts.tsconfig != "tsconfig.pulumi.json" ||
		!slices.Equal(opts.nodeArgs, []string{"--inspect", "--max-old-space-size=512"}) {
		t.Errorf("got %+v", opts)
	}

	s, _ = structpb.NewStruct(map[string]any{"nodeargs": 3.0})
	if _, err := parseRuntimeOptions(&pulumirpc.ProgramInfo{Options: s}); err == nil {
		t.Error("numeric nodeargs: want an error")
	}
}
