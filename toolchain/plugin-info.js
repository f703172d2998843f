#!/usr/bin/env node
/**
 * Prints the version a Pulumi plugin binary reports about itself (its GetPluginInfo RPC), so that
 * toolchain/build.sh can check a binary from a plugin directory before it installs it.
 *
 *   node toolchain/plugin-info.js resource|language BINARY
 *
 * The plugin is started as the engine starts it (it prints the port it serves on), asked once,
 * and stopped. Exit 1, with the reason on stderr, when it does not answer within 30 s.
 * Plain JavaScript with the gRPC stubs that @pulumi/pulumi ships: it runs before anything is
 * compiled, with whatever Node.js is on PATH.
 */
"use strict";
const { spawn } = require("child_process");
const path = require("path");

const [kind, binary] = process.argv.slice(2);
if (!["resource", "language"].includes(kind) || !binary) {
  process.stderr.write("usage: plugin-info.js resource|language BINARY\n");
  process.exit(2);
}

const root = path.resolve(__dirname, "..");
const req = (m) => require(require.resolve(m, { paths: [root] }));
const grpc = req("@grpc/grpc-js");
const emptyProto = req("google-protobuf/google/protobuf/empty_pb.js");
const stubs =
  kind === "resource" ? req("@pulumi/pulumi/proto/provider_grpc_pb.js").ResourceProviderClient : req("@pulumi/pulumi/proto/language_grpc_pb.js").LanguageRuntimeClient;

// Plugins take the engine's address as their argument. Nothing listens there; GetPluginInfo
// does not need the engine, and the plugin is stopped right after it answers.
const child = spawn(binary, ["127.0.0.1:1"], { stdio: ["ignore", "pipe", "pipe"] });
let stderr = "";
let stdout = "";
const fail = (why) => {
  child.kill("SIGKILL");
  process.stderr.write(`${binary}: ${why}${stderr.trim() ? `\n${stderr.trim().split("\n").slice(-5).join("\n")}` : ""}\n`);
  process.exit(1);
};
const timer = setTimeout(() => fail("no answer to GetPluginInfo within 30 s"), 30000);
child.on("error", (e) => fail(e.message));
child.on("exit", (code, signal) => fail(`exited (${code ?? signal}) before answering`));
child.stderr.on("data", (d) => (stderr += d));
child.stdout.on("data", (d) => {
  stdout += d;
  const m = /^\s*(\d+)\s*\n/.exec(stdout);
  if (!m) return;
  child.stdout.removeAllListeners("data");
  const client = new stubs(`127.0.0.1:${m[1]}`, grpc.credentials.createInsecure());
  client.getPluginInfo(new emptyProto.Empty(), (err, info) => {
    if (err) return fail(`GetPluginInfo: ${err.message}`);
    clearTimeout(timer);
    child.removeAllListeners("exit");
    child.kill("SIGKILL");
    client.close();
    process.stdout.write(`${info.getVersion()}\n`);
    process.exit(0);
  });
});
