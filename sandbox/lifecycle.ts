// up / down / status: the orchestration behind the CLI and the library API.
import * as fs from "node:fs";
import { existingHostCgroups, createHostCgroups, removeGroupDirs } from "./cgroups";
import {
  BRIDGE,
  BRIDGE_ADDRESS,
  CLIENT_KEY,
  HOSTS_DIR,
  HostKind,
  KNOWN_HOSTS,
  KindRequest,
  MAX_HOSTS,
  NSPAWN_RUN_DIR,
  PREFIX_LEN,
  SSH_PORT,
  STATE_DIR,
  STATE_FILE,
  SUDO_USER,
  hostAddress,
  hostIndex,
  hostName,
  kindsFor,
  netnsName,
  vethName,
} from "./config";
import { ensurePackages } from "./deps";
import { run } from "./exec";
import { teardownHost } from "./hosts/common";
import { plainHostReady, plainPaths, preparePlainHost, startPlainHost } from "./hosts/plain";
import { prepareSystemdHost, startSystemdHost, systemdHostReady, systemdPaths } from "./hosts/systemd";
import { ensureClientKey, ensureHostKey, writeKnownHosts } from "./keys";
import { Logger, silent, step } from "./log";
import { isMountPoint, readMounts, unmountUnder } from "./mounts";
import { createHostNetwork, ensureBridge, removeBridge, sandboxLinks, sandboxNetns } from "./network";
import { ensureRootfs } from "./rootfs";
import { runScriptOnHost, sshCommand } from "./ssh";
import { HostRecord, SandboxState, emptyState, hostRunning, loadState, saveState, withLock } from "./state";

export interface UpOptions {
  hosts: number;
  kind: KindRequest;
  log?: Logger;
}

export interface HostStatus extends HostRecord {
  running: boolean;
  /** systemd's word for docker.service ("active", "failed", …; plain hosts: "active"/"inactive"), "host down" or "ssh failed". */
  docker: string;
  sshCommand: string;
}

export interface SandboxStatus {
  stateDir: string;
  clientKey: string;
  knownHosts: string;
  hosts: HostStatus[];
}

const NETNS_DIR = "/run/netns";
/** Marks our tmpfs on /run/systemd/nspawn in the mount table. */
const NSPAWN_TMPFS_SOURCE = "dtls-sandbox";

function requireRoot(): void {
  if (process.platform !== "linux") throw new Error("the sandbox runs on Linux only");
  if (process.getuid?.() !== 0) throw new Error("the sandbox must run as root (it creates namespaces, mounts and cgroups)");
}

/** nspawn keeps per-machine state here and wants it on a tmpfs (here /run is on disk). */
async function ensureNspawnRunDir(state: SandboxState): Promise<void> {
  if (!fs.existsSync(NSPAWN_RUN_DIR)) {
    fs.mkdirSync(NSPAWN_RUN_DIR, { recursive: true });
    state.made.nspawnDir = true;
  }
  if (!isMountPoint(NSPAWN_RUN_DIR)) {
    await run("mount", ["-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", NSPAWN_TMPFS_SOURCE, NSPAWN_RUN_DIR]);
    state.made.nspawnTmpfs = true;
  }
  saveState(state);
}

async function createHost(
  state: SandboxState,
  index: number,
  kind: HostKind,
  rootfs: string | undefined,
  clientPublicKey: string,
  log: Logger,
): Promise<void> {
  const name = hostName(index);
  const address = hostAddress(index);
  const started = Date.now();
  const hostKey = await ensureHostKey(name);
  const host: HostRecord = {
    name,
    kind,
    address,
    sshPort: SSH_PORT,
    users: { root: "root", deploy: SUDO_USER },
    hostKey: hostKey.publicKey,
    netns: netnsName(name),
    veth: vethName(name),
    pids: { main: 0 },
    paths: kind === "systemd" ? systemdPaths(name) : plainPaths(name),
    createdAt: new Date().toISOString(),
  };
  // Recorded before anything is made, so `down` can undo a host whose creation failed.
  state.hosts = [...state.hosts.filter((h) => h.name !== name), host];
  saveState(state);
  writeKnownHosts(state.hosts);

  const netnsWasMount = isMountPoint(NETNS_DIR);
  await step(log, `${name}: network ${address}/${PREFIX_LEN} (netns ${host.netns})`, () => createHostNetwork(index, name, address));
  if (!netnsWasMount && isMountPoint(NETNS_DIR)) state.made.netnsMount = true;
  fs.mkdirSync(host.paths.dir, { recursive: true, mode: 0o700 });
  if (kind === "systemd") {
    await step(log, `${name}: overlay on the cached rootfs, identity and keys`, () =>
      prepareSystemdHost(host, rootfs as string, clientPublicKey, hostKey),
    );
  } else {
    await step(log, `${name}: per-host /etc, /root, /home, /var, identity and keys`, () =>
      preparePlainHost(host, clientPublicKey, hostKey),
    );
  }
  host.paths.cgroups = createHostCgroups(name);
  host.pids.main = kind === "systemd" ? startSystemdHost(host) : startPlainHost(host);
  saveState(state);
  await step(log, `${name}: ${kind === "systemd" ? "booted (nspawn)" : "started"}, ssh and docker ready`, () =>
    kind === "systemd" ? systemdHostReady(host) : plainHostReady(host),
  );
  log(`${name}: up as a ${kind} host in ${((Date.now() - started) / 1000).toFixed(2)} s`);
}

export async function up(opts: UpOptions): Promise<SandboxStatus> {
  requireRoot();
  const { hosts: count, kind } = opts;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) throw new Error(`--hosts must be 1..${MAX_HOSTS}`);
  if (!["systemd", "plain", "mixed"].includes(kind)) throw new Error(`--kind must be systemd, plain or mixed`);
  const log = opts.log ?? silent;
  await withLock(async () => {
    await ensurePackages(log);
    const clientPublicKey = await step(log, `client key ${CLIENT_KEY}`, ensureClientKey);
    const state = loadState();
    const kinds = kindsFor(kind, count);
    const rootfs = kinds.includes("systemd") ? await ensureRootfs(log) : undefined;
    if (rootfs) await ensureNspawnRunDir(state);
    await step(log, `network: bridge ${BRIDGE} ${BRIDGE_ADDRESS}/${PREFIX_LEN}`, ensureBridge);
    const traces = new Set(await sandboxHostNames(state));
    for (let i = 1; i <= count; i++) {
      const name = hostName(i);
      const existing = state.hosts.find((h) => h.name === name);
      if (existing && existing.kind === kinds[i - 1] && hostRunning(existing)) {
        log(`${name}: already up (${existing.kind}, ${existing.address})`);
        continue;
      }
      if (traces.has(name)) {
        // A stopped or different-kind host of that name, or leftovers of a failed run.
        const why = existing ? (existing.kind !== kinds[i - 1] ? `was ${existing.kind}` : "not running") : "leftovers";
        await step(log, `${name}: cleared (${why})`, () => teardownHost(name, existing));
        state.hosts = state.hosts.filter((h) => h.name !== name);
        saveState(state);
      }
      await createHost(state, i, kinds[i - 1], rootfs, clientPublicKey, log);
    }
    for (const h of state.hosts.filter((h) => hostIndex(h.name) > count)) {
      log(`${h.name}: kept (made by an earlier up; \`down\` removes all hosts)`);
    }
  });
  return status();
}

/** Every host name the machine shows traces of, recorded or not. */
async function sandboxHostNames(state: SandboxState): Promise<string[]> {
  const names = new Set<string>(state.hosts.map((h) => h.name));
  for (const n of existingHostCgroups().keys()) names.add(n);
  for (const ns of await sandboxNetns()) names.add(ns.replace(/^dtls-/, ""));
  for (const l of await sandboxLinks()) if (l.startsWith("dtls-sbx")) names.add(l.replace(/^dtls-/, ""));
  if (fs.existsSync(HOSTS_DIR)) for (const d of fs.readdirSync(HOSTS_DIR)) names.add(d);
  return [...names].filter((n) => /^sbx[0-9]+$/.test(n)).sort((a, b) => hostIndex(a) - hostIndex(b));
}

export async function down(opts: { log?: Logger } = {}): Promise<void> {
  requireRoot();
  const log = opts.log ?? silent;
  await withLock(async () => {
    const state = loadState();
    const names = await sandboxHostNames(state);
    if (!fs.existsSync(STATE_FILE) && names.length) {
      // Traces but no record (state.json lost): assume up made the machine-level pieces too.
      state.made = { netnsMount: true, nspawnTmpfs: true, nspawnDir: true };
    }
    // Keep going after a failure so one stuck piece does not leave everything else up;
    // the state keeps what is left, and a second `down` retries it.
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => Promise<void>) => {
      try {
        await step(log, what, fn);
      } catch (e) {
        errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
        log(`${what}: FAILED`);
      }
    };
    for (const name of names) {
      const record = state.hosts.find((h) => h.name === name);
      await attempt(`${name}: down`, async () => {
        await teardownHost(name, record);
        state.hosts = state.hosts.filter((h) => h.name !== name);
        saveState(state);
      });
    }
    if (errors.length) throw new Error(`down incomplete:\n${errors.join("\n")}`);
    await attempt("mounts: none left under the state dir", () => unmountUnder(STATE_DIR));
    await attempt(`network: bridge ${BRIDGE} and its iptables rule removed`, removeBridge);
    await attempt("machine: cgroup parents, nspawn tmpfs and /run/netns mount removed", async () => {
      removeGroupDirs();
      const nspawnTmpfs = readMounts().find((m) => m.mountPoint === NSPAWN_RUN_DIR);
      if (nspawnTmpfs?.fsType === "tmpfs" && nspawnTmpfs.source === NSPAWN_TMPFS_SOURCE) {
        await run("umount", [NSPAWN_RUN_DIR]);
      }
      if (state.made.nspawnDir && fs.existsSync(NSPAWN_RUN_DIR)) fs.rmdirSync(NSPAWN_RUN_DIR);
      // iproute2 made /run/netns a mount point for our first namespace: undo it if nobody
      // else has a namespace there now.
      if (state.made.netnsMount && isMountPoint(NETNS_DIR) && fs.readdirSync(NETNS_DIR).length === 0) {
        await run("umount", [NETNS_DIR]);
        fs.rmdirSync(NETNS_DIR);
      }
    });
    if (errors.length) throw new Error(`down incomplete:\n${errors.join("\n")}`);
    fs.rmSync(HOSTS_DIR, { recursive: true, force: true });
    saveState(emptyState());
    log("down: no host, namespace, mount, cgroup or bridge left (client key and rootfs cache kept)");
  });
}

async function dockerState(host: HostRecord): Promise<string> {
  const script =
    "if command -v systemctl >/dev/null 2>&1; then systemctl is-active docker;\n" +
    "elif service docker status >/dev/null 2>&1; then echo active; else echo inactive; fi\n";
  const res = await runScriptOnHost(host, script, { allowFail: true, timeoutMs: 15_000, connectTimeoutSec: 3 });
  if (res.code === 255) return "ssh failed";
  return res.stdout.trim() || "unknown";
}

export async function status(): Promise<SandboxStatus> {
  requireRoot(); // the state dir and the client key are root's
  const state = loadState();
  const hosts = await Promise.all(
    state.hosts.map(async (h): Promise<HostStatus> => {
      const running = hostRunning(h);
      return { ...h, running, docker: running ? await dockerState(h) : "host down", sshCommand: sshCommand(h) };
    }),
  );
  return { stateDir: STATE_DIR, clientKey: CLIENT_KEY, knownHosts: KNOWN_HOSTS, hosts };
}
