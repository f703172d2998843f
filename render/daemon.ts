/**
 * Pure render functions for the dockerd settings that land on a host: daemon.json, the systemd
 * drop-in and /etc/default/docker. No Pulumi here: each function maps plain values to file text,
 * so the unit tests check the exact bytes.
 */
import type { DaemonSettings, InitKind } from "../config";

/** Where the TLS material lives on every host (the seed deck's layout). */
export const TLS_PATHS = {
  /** Bundle of the issuers of the current clients: the daemon's `tlscacert`. */
  clientCaBundle: "/etc/docker/ca.pem",
  serverCert: "/etc/docker/server-cert.pem",
  serverKey: "/etc/docker/server-key.pem",
} as const;

export const DAEMON_JSON_PATH = "/etc/docker/daemon.json";
export const DROP_IN_PATH = "/etc/systemd/system/docker.service.d/docker-tls.conf";
export const DEFAULT_DOCKER_PATH = "/etc/default/docker";
export const UNIX_SOCKET = "unix:///var/run/docker.sock";

/** `tcp://ADDRESS:PORT`, an IPv6 address in brackets (`tcp://[2001:db8::1]:2376`): the one place that brackets. */
export function tcpUrl(address: string, port: number): string {
  return `tcp://${address.includes(":") ? `[${address}]` : address}:${port}`;
}

/**
 * The daemon.json key each typed daemon setting writes (settingKeys); the others (bindAddress, port,
 * keepUnixSocket) make up `hosts`. config.ts holds `daemon.extra`'s use of these keys to the
 * setting's rules, and refuses a key here beside its typed setting. The last four are the security
 * settings (CIS Docker Benchmark 2.2, 2.14, 2.16, 2.9): written only when set.
 */
export const TYPED_DAEMON_KEYS = {
  "log-level": "logLevel",
  debug: "debug",
  dns: "dns",
  "registry-mirrors": "registryMirrors",
  "insecure-registries": "insecureRegistries",
  "live-restore": "liveRestore",
  icc: "icc",
  "no-new-privileges": "noNewPrivileges",
  "userland-proxy": "userlandProxy",
  "userns-remap": "usernsRemap",
} as const satisfies Record<string, keyof DaemonSettings>;

/** The listeners dockerd must have: TLS on TCP, and the unix socket unless it was turned off. */
export function listenHosts(d: DaemonSettings): string[] {
  const tcp = tcpUrl(d.bindAddress, d.port);
  return d.keepUnixSocket ? [UNIX_SOCKET, tcp] : [tcp];
}

/**
 * daemon.json keys for the settings other than listeners and TLS: each typed setting under its key
 * (config.ts TYPED_DAEMON_KEYS), an empty list or an unset optional setting left out, then `extra`
 * as given.
 */
function settingKeys(d: DaemonSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(TYPED_DAEMON_KEYS)) {
    const value = d[setting];
    if (value !== undefined && (!Array.isArray(value) || value.length > 0)) out[key] = value;
  }
  return { ...out, ...d.extra };
}

function tlsKeys(): Record<string, unknown> {
  return {
    tls: true,
    tlsverify: true,
    tlscacert: TLS_PATHS.clientCaBundle,
    tlscert: TLS_PATHS.serverCert,
    tlskey: TLS_PATHS.serverKey,
  };
}

/**
 * daemon.json keys that a running dockerd applies on SIGHUP (moby's daemon/reload.go), both in the
 * 20.10 series Debian ships and in current releases. A change to these alone is reloaded, not
 * restarted (render/sh/apply.sh); every other key (listeners, TLS, log-level, dns, and the security
 * settings icc, no-new-privileges, userland-proxy, userns-remap, …) needs a restart, and dockerd
 * ignores it on a reload.
 */
export const RELOADABLE_DAEMON_KEYS = [
  "debug",
  "labels",
  "live-restore",
  "max-concurrent-downloads",
  "max-concurrent-uploads",
  "max-download-attempts",
  "shutdown-timeout",
  "insecure-registries",
  "registry-mirrors",
] as const;

/**
 * What of a daemon.json's text a reload cannot apply: the file without RELOADABLE_DAEMON_KEYS, in a
 * canonical form. Two versions with the same restart part differ only in what a reload applies.
 * A file that does not parse is its own restart part (so any change to it restarts).
 */
export function daemonJsonRestartPart(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return text;
  const kept = Object.entries(parsed as Record<string, unknown>)
    .filter(([k]) => !(RELOADABLE_DAEMON_KEYS as readonly string[]).includes(k.trim().toLowerCase()))
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(Object.fromEntries(kept));
}

/** Keys of daemon.json that the DOCKER_OPTS style moves to flags (dockerd refuses both at once). */
const FLAG_KEYS = ["hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"];

/**
 * daemon.json: the keys the host already had (`original`), overlaid with ours. With `sysv` the
 * listeners and TLS files go to DOCKER_OPTS instead, so they are left out here, and removed
 * from the original too (dockerd refuses a directive given both as flag and in the file).
 */
export function renderDaemonJson(original: Record<string, unknown>, d: DaemonSettings, init: InitKind): string {
  const merged: Record<string, unknown> = { ...original, ...settingKeys(d) };
  if (init === "sysv") {
    for (const k of FLAG_KEYS) delete merged[k];
  } else {
    Object.assign(merged, { hosts: listenHosts(d) }, tlsKeys());
  }
  const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** dockerd flags for the sysv style: the seed deck's DOCKER_OPTS, listeners first. */
export function dockerOptsFlags(d: DaemonSettings): string[] {
  return [
    ...listenHosts(d).map((h) => `-H ${h}`),
    "--tlsverify",
    `--tlscacert=${TLS_PATHS.clientCaBundle}`,
    `--tlscert=${TLS_PATHS.serverCert}`,
    `--tlskey=${TLS_PATHS.serverKey}`,
  ];
}

const OPTS_LINE = /^\s*(export\s+)?DOCKER_OPTS=/;

/**
 * /etc/default/docker with DOCKER_OPTS set to our flags. Every other line of the original file
 * is kept; earlier DOCKER_OPTS lines are commented out so the file still shows what was there.
 */
export function renderDefaultDocker(original: string, d: DaemonSettings): string {
  const kept = original
    .split("\n")
    .filter((line, i, all) => !(i === all.length - 1 && line === ""))
    .map((line) => (OPTS_LINE.test(line) ? `# replaced by docker-tls: ${line}` : line));
  return [
    ...kept,
    "# Managed by docker-tls: the daemon listens with mutual TLS; other settings are in /etc/docker/daemon.json.",
    `DOCKER_OPTS="${dockerOptsFlags(d).join(" ")}"`,
    "",
  ].join("\n");
}

/** The dockerd command of the stock unit when the host does not say (Debian and docker-ce). */
export const DEFAULT_EXEC_START = ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"];

/** The flags the drop-in leaves out of ExecStart, each given as `-H VALUE`, `--host=VALUE` or `-HVALUE`. */
const DROPPED_FLAGS = ["-H", "--host", "--config-file"];

/**
 * The systemd drop-in: the stock unit passes `-H fd://`, and dockerd refuses to start when
 * listeners come both from flags and from daemon.json. So ExecStart is cleared (an empty
 * `ExecStart=` must come first) and set again without any -H/--host flag, keeping the rest
 * (notably `--containerd=…`). A `--config-file` goes too: with it dockerd reads that file instead
 * of /etc/docker/daemon.json, and would never see our listeners and TLS settings (the host's own
 * settings in that file are carried over into ours: host/plan.ts renderHostFiles).
 */
export function renderSystemdDropIn(execStart: string[] | undefined): string {
  const argv = execStart && execStart.length ? execStart : DEFAULT_EXEC_START;
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (DROPPED_FLAGS.includes(a)) {
      i++; // and its value
    } else if (!DROPPED_FLAGS.some((f) => a.startsWith(f === "-H" ? f : `${f}=`))) {
      kept.push(a);
    }
  }
  // A word with whitespace came from quotes (render/scripts.ts splitExecStart) and goes back in them.
  const quoted = kept.map((a) => (a === "" || /\s/.test(a) ? `"${a}"` : a));
  return [
    "# Managed by docker-tls: listeners and TLS are set in /etc/docker/daemon.json.",
    "[Service]",
    "ExecStart=",
    `ExecStart=${quoted.join(" ")}`,
    "",
  ].join("\n");
}
