// Library API of the sandbox, for the e2e tests and the demo:
//   await up({ hosts: 2, kind: "systemd" });      // idempotent; returns status()
//   const { hosts } = await status();             // typed host records (+ running, docker state)
//   await runOnHost(hosts[0], ["docker", "info"]); // over SSH as root, argv kept word by word
//   await down();
export { up, down, status } from "./lifecycle";
export { formatStatus } from "./cli";
export type { UpOptions, HostStatus, SandboxStatus } from "./lifecycle";
export type { HostRecord, SandboxState } from "./state";
export { loadState } from "./state";
export { runOnHost, runScriptOnHost, shellQuote, sshCommand, sshOptions } from "./ssh";
export { daemonStarts } from "./starts";
export type { HostRef, SshOptions, SshUser } from "./ssh";
export type { RunResult } from "./exec";
export type { Logger } from "./log";
export { BRIDGE, BRIDGE_ADDRESS, CLIENT_KEY, KNOWN_HOSTS, STATE_DIR, SUDO_USER, hostAddress, hostName, netnsName } from "./config";
export type { HostKind, KindRequest } from "./config";
