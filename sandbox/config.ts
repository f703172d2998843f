// Fixed names and addresses of the sandbox. Other parts of the project (stack configs, e2e
// tests, the README) rely on these exact values, so they are constants, not options.
import * as os from "node:os";
import * as path from "node:path";

export type HostKind = "systemd" | "plain";
export type KindRequest = HostKind | "mixed";

export const STATE_DIR = "/var/lib/docker-tls-sandbox";
export const STATE_FILE = path.join(STATE_DIR, "state.json");
export const LOCK_FILE = path.join(STATE_DIR, "lock");
export const SSH_DIR = path.join(STATE_DIR, "ssh");
export const CLIENT_KEY = path.join(SSH_DIR, "id_ed25519");
export const KNOWN_HOSTS = path.join(SSH_DIR, "known_hosts");
/** Host keys are kept across down/up so known_hosts and pinned keys stay valid. */
export const HOST_KEYS_DIR = path.join(SSH_DIR, "hostkeys");
export const HOSTS_DIR = path.join(STATE_DIR, "hosts");

export const CACHE_DIR = path.join(os.homedir(), ".cache", "docker-tls", "sandbox");

export const BRIDGE = "dtlsbr0";
export const BRIDGE_ADDRESS = "10.203.0.1";
export const PREFIX_LEN = 24;
/** Fixed MAC so a re-created bridge does not change identity under the hosts' ARP caches. */
export const BRIDGE_MAC = "02:00:0a:cb:00:01";
export const SSH_PORT = 22;
export const SUDO_USER = "deploy";

/** Name of the cgroup directory (in every hierarchy) under which each host gets a child. */
export const CGROUP_GROUP = "dtls-sandbox";
/** nspawn wants a tmpfs here; it is mounted by `up` and unmounted by `down`. */
export const NSPAWN_RUN_DIR = "/run/systemd/nspawn";

export const MAX_HOSTS = 50;

export function hostName(index: number): string {
  return `sbx${index}`;
}

export function hostIndex(name: string): number {
  const m = /^sbx([0-9]+)$/.exec(name);
  if (!m) throw new Error(`not a sandbox host name: ${name}`);
  return Number(m[1]);
}

export function hostAddress(index: number): string {
  return `10.203.0.${10 + index}`;
}

export function netnsName(name: string): string {
  return `dtls-${name}`;
}

/** The machine-side end of the host's veth pair; same name as the netns, so leftovers are easy to spot. */
export function vethName(name: string): string {
  return `dtls-${name}`;
}

/**
 * MACs derived from the address: a host re-created at the same address keeps its MAC, so
 * neighbours never hold a stale entry (a changed MAC stalled SSH for 30-40 s).
 */
export function hostMacs(index: number): { inner: string; outer: string } {
  const last = (10 + index).toString(16).padStart(2, "0");
  return { inner: `02:00:0a:cb:00:${last}`, outer: `02:01:0a:cb:00:${last}` };
}

export function hostDir(name: string): string {
  return path.join(HOSTS_DIR, name);
}

/** Kinds for hosts 1..n: "mixed" alternates systemd, plain, systemd, … */
export function kindsFor(request: KindRequest, count: number): HostKind[] {
  return Array.from({ length: count }, (_, i) => (request === "mixed" ? (i % 2 === 0 ? "systemd" : "plain") : request));
}
