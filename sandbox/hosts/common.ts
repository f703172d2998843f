// What both kinds of host share: per-host identity files, the detached first process, the
// wait for docker, and the teardown that leaves nothing behind.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { existingHostCgroups, pidsIn, removeHostCgroups } from "../cgroups";
import { SUDO_USER, hostAddress, hostDir, hostIndex, netnsName } from "../config";
import { waitFor } from "../exec";
import { installAuthorizedKey } from "../keys";
import { unmountUnder, mountsUnder } from "../mounts";
import { netnsPids, removeHostNetwork } from "../network";
import { commOf, isAlive, signal, waitGone } from "../procs";
import { runOnHost, runScriptOnHost } from "../ssh";
import { HostRecord, hostRunning } from "../state";

export const ASSETS = path.join(__dirname, "..", "assets");

/** Writes hostname, hosts and a fresh machine-id into a host's /etc (a path on the machine). */
export function writeIdentity(etc: string, name: string, address: string): void {
  fs.writeFileSync(path.join(etc, "hostname"), `${name}\n`);
  fs.writeFileSync(
    path.join(etc, "hosts"),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${name}\n${address}\t${name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
  );
  fs.writeFileSync(path.join(etc, "machine-id"), randomBytes(16).toString("hex") + "\n", { mode: 0o444 });
}

/** uid, gid and home of a user, read from a passwd file. */
export function passwdEntry(passwdFile: string, user: string): { uid: number; gid: number; home: string } {
  for (const line of fs.readFileSync(passwdFile, "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === user) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
  }
  throw new Error(`${user} not found in ${passwdFile}`);
}

/** Lets the client key in as root and as the sudo user; `root` is the host's / on the machine. */
export function authorizeClient(root: string, etc: string, clientPublicKey: string): void {
  installAuthorizedKey(clientPublicKey, path.join(root, "root"), 0, 0);
  const deploy = passwdEntry(path.join(etc, "passwd"), SUDO_USER);
  installAuthorizedKey(clientPublicKey, path.join(root, deploy.home), deploy.uid, deploy.gid);
}

/**
 * Starts a host's first process in its own session, detached from us (it outlives the CLI),
 * with output to `logFile`. Returns its PID.
 */
export function spawnDetached(cmd: string, args: string[], logFile: string): number {
  const fd = fs.openSync(logFile, "a", 0o600);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.on("error", () => undefined); // reported through the readiness checks instead
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/** Waits until dockerd answers on the host's unix socket (as root on the host). */
export async function waitForDocker(host: HostRecord, timeoutMs: number): Promise<void> {
  const tries = Math.ceil(timeoutMs / 200);
  const script = `i=0; until docker info >/dev/null 2>&1; do i=$((i + 1)); [ $i -ge ${tries} ] && exit 1; sleep 0.2; done\n`;
  const res = await runScriptOnHost(host, script, { allowFail: true, timeoutMs: timeoutMs + 10_000 });
  if (res.code !== 0) throw new Error(`${host.name}: docker did not answer within ${timeoutMs / 1000} s`);
}

/** Every live process of a host: its cgroups, its network namespace, its first process. */
async function hostPids(name: string, cgroups: string[], main?: number): Promise<number[]> {
  const all = new Set<number>([...pidsIn(cgroups), ...(await netnsPids(netnsName(name)))]);
  if (main) all.add(main);
  return [...all].filter(isAlive);
}

async function stopProcesses(name: string, record: HostRecord | undefined, cgroups: string[]): Promise<void> {
  const main = record && hostRunning(record) ? record.pids.main : undefined;
  // Containers first, and without ceremony: dockerd would otherwise give each one its 10 s
  // stop timeout, and nothing in a throwaway host needs a graceful container stop.
  const containers = pidsIn(cgroups.flatMap((c) => [path.join(c, "docker"), path.join(c, "payload", "docker")]));
  containers.forEach((p) => signal(p, "SIGKILL"));
  await waitGone(containers, 5_000);
  if (record?.kind === "systemd" && main) {
    // SIGTERM asks nspawn to power the container off cleanly (systemd stops docker, …).
    signal(main, "SIGTERM");
    await waitGone([main], 30_000);
  } else {
    // Plain host: stop dockerd first, as `service docker stop` would; it stops its containerd.
    const dockerds = (await hostPids(name, cgroups)).filter((p) => commOf(p) === "dockerd");
    dockerds.forEach((p) => signal(p, "SIGTERM"));
    await waitGone(dockerds, 15_000);
  }
  for (const [sig, wait] of [
    ["SIGTERM", 5_000],
    ["SIGKILL", 10_000],
  ] as const) {
    const left = await hostPids(name, cgroups, main);
    if (left.length === 0) return;
    left.forEach((p) => signal(p, sig));
    await waitGone(left, wait);
  }
  const left = await hostPids(name, cgroups, main);
  if (left.length) throw new Error(`${name}: processes survive SIGKILL: ${left.join(" ")}`);
}

/**
 * Removes a host completely. Works from the names alone (cgroups, netns, veth and directory
 * are found on the machine), so it also cleans what an interrupted `up` left unrecorded.
 */
export async function teardownHost(name: string, record: HostRecord | undefined): Promise<void> {
  const cgroups = existingHostCgroups().get(name) ?? [];
  await stopProcesses(name, record, cgroups);
  const dir = hostDir(name);
  await unmountUnder(dir);
  await removeHostCgroups(cgroups);
  await removeHostNetwork(name, hostAddress(hostIndex(name)));
  // Never recurse into a directory that still has something mounted below it.
  if (mountsUnder(dir).length) throw new Error(`${dir} still has mounts`);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Fails fast when the host's first process died (instead of waiting out a timeout). */
export function assertStillRunning(record: HostRecord): void {
  // Liveness only: while starting, the first process is still a wrapper (run-in-cgroups,
  // nsenter, …) on its way to becoming nspawn or sshd.
  if (!isAlive(record.pids.main)) {
    const log = fs.existsSync(record.paths.log) ? fs.readFileSync(record.paths.log, "utf8").slice(-2000) : "";
    throw new Error(`${record.name}: its first process exited; last output of ${record.paths.log}:\n${log}`);
  }
}

/** Waits for the host's sshd to accept the client key, failing at once if the host died. */
export async function waitForSsh(record: HostRecord, timeoutMs: number): Promise<void> {
  let last = "";
  await waitFor(`${record.name}: ssh (${record.address})`, timeoutMs, async () => {
    assertStillRunning(record);
    const res = await runOnHost(record, ["true"], { allowFail: true, connectTimeoutSec: 2, timeoutMs: 10_000 });
    last = res.stderr.trim();
    return res.code === 0 ? true : undefined;
  }).catch((e: Error) => {
    throw new Error(`${e.message}${last ? `; last ssh error: ${last}` : ""}`);
  });
}
