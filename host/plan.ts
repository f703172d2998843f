/**
 * One host's plan: everything the program decides about a host from its validated config alone,
 * computed once (planHost) and read by DockerHost (what it connects to, runs and installs) and by
 * HostAudit (what it expects to find). Pure: no Pulumi, no I/O.
 *
 * The managed files are known up front by path, mode and owner; their content (and so their
 * SHA-256) comes later, from the probe's output and the certificates: renderHostFiles turns the
 * planned files into HostFiles once those are known, and fileDigests into what the audit expects.
 */
import * as path from "path";
import { HostConfig, InitKind, SecuritySettings } from "../config";
import {
  DAEMON_JSON_PATH,
  DEFAULT_DOCKER_PATH,
  DROP_IN_PATH,
  TLS_PATHS,
  listenHosts,
  renderDaemonJson,
  renderDefaultDocker,
  renderSystemdDropIn,
  tcpUrl,
} from "../render/daemon";
import { HostFile, ProbeResult, ScriptTarget, parseOriginalDaemonJson, sha256 } from "../render/scripts";

/** Every file the program manages is owned by root (the apply script sets it). */
export const OWNER = "root:root";

/** What a managed file's content is made from. */
export type FileSource = "clientCaBundle" | "serverCert" | "serverKey" | "daemonJson" | "systemdDropIn" | "defaultDocker";

/** A file the program manages on a host, known before its content is. */
export interface PlannedFile {
  path: string;
  /** Octal mode as installed, e.g. "0444" (HostFile.mode). */
  mode: string;
  /** `user:group`. */
  owner: string;
  /** What its content is rendered from (see renderHostFiles). */
  source: FileSource;
}

/** A managed file once its content is known, as the audit expects it: mode as `stat -c %a` prints it ("400"). */
export interface FileDigest {
  path: string;
  mode: string;
  owner: string;
  sha256: string;
}

/** How the program reaches a host over SSH (DockerHost's command provider and HostAudit alike). */
export interface HostConnection {
  address: string;
  port: number;
  user: string;
  /** Run the host's scripts through `sudo -n` (user is not root). */
  sudo: boolean;
  /** The pinned host key (`TYPE BASE64`); absent only where the config opts out (insecureSkipHostKeyCheck). */
  hostKey?: string;
  /** The pinned key's algorithm: the first word of hostKey. */
  hostKeyAlgorithm?: string;
}

/** The plan of one host. */
export interface HostPlan {
  /** The host's name (config). */
  name: string;
  init: InitKind;
  connection: HostConnection;
  /** The managed files, in the order they are uploaded and listed in the manifest. */
  files: PlannedFile[];
  /** The listeners dockerd must have (render/daemon.ts listenHosts). */
  listenHosts: string[];
  /** Where the TLS material lives on the host. */
  tlsPaths: typeof TLS_PATHS;
  /** dockerd's TLS port. */
  daemonPort: number;
  /** `tcp://ADDRESS:PORT`, for DOCKER_HOST (an IPv6 address in brackets). */
  dockerHost: string;
  /** How DockerHost's scripts restart and watch dockerd. */
  target: ScriptTarget;
  /** What the security audit holds the host to (components/security/checks.ts). */
  security: SecurityPlan;
}

/**
 * What the security checks need to know of a host's plan: its listeners and TLS files, who may be
 * in the docker group, and the daemon's security settings as configured (undefined: not set).
 * Stored with the host's audit (HostAuditInputs.securityPlan), so that `npm run audit` judges a
 * refreshed host by what its last `up` wanted.
 */
export interface SecurityPlan {
  init: InitKind;
  /** dockerd's TLS port. */
  port: number;
  /** The listeners dockerd must have, and no others. */
  listeners: string[];
  tlsPaths: { clientCaBundle: string; serverCert: string; serverKey: string };
  /** The members allowed in the docker group, when configured. */
  dockerGroup?: string[];
  enforceDockerGroup: boolean;
  /** The typed security settings of daemon.json, when set. */
  daemon: { icc?: boolean; noNewPrivileges?: boolean; userlandProxy?: boolean; usernsRemap?: string };
}

/** The SecurityPlan of a host, without undefined members (it is stored as JSON). */
export function securityPlan(host: HostConfig): SecurityPlan {
  const s: SecuritySettings = host.security;
  const daemon = Object.fromEntries(
    (["icc", "noNewPrivileges", "userlandProxy", "usernsRemap"] as const)
      .filter((k) => host.daemon[k] !== undefined)
      .map((k) => [k, host.daemon[k]]),
  );
  return {
    init: host.init,
    port: host.daemon.port,
    listeners: listenHosts(host.daemon).slice().sort(),
    tlsPaths: { ...TLS_PATHS },
    ...(s.dockerGroup !== undefined ? { dockerGroup: s.dockerGroup.slice().sort() } : {}),
    enforceDockerGroup: s.enforceDockerGroup,
    daemon,
  };
}

/** The managed files on a host of this init kind: the TLS material, daemon.json and the init system's file. */
export function plannedFiles(init: InitKind): PlannedFile[] {
  const file = (path: string, mode: string, source: FileSource): PlannedFile => ({ path, mode, owner: OWNER, source });
  return [
    file(TLS_PATHS.clientCaBundle, "0444", "clientCaBundle"),
    file(TLS_PATHS.serverCert, "0444", "serverCert"),
    file(TLS_PATHS.serverKey, "0400", "serverKey"),
    file(DAEMON_JSON_PATH, "0644", "daemonJson"),
    ...(init === "systemd" ? [file(DROP_IN_PATH, "0644", "systemdDropIn")] : []),
    ...(init === "sysv" ? [file(DEFAULT_DOCKER_PATH, "0644", "defaultDocker")] : []),
  ];
}

/** Where a plan is made: the Pulumi project and stack, and how long scripts wait for dockerd. */
export interface PlanContext {
  project: string;
  stack: string;
  /** Seconds the scripts wait for dockerd after a restart (config.ts: RESTART_WAIT_SECONDS). */
  waitSeconds: number;
  /** Seconds a restarted dockerd must then stay up (config.ts: RESTART_SETTLE_SECONDS). */
  settleSeconds: number;
}

/** The owner record of a host entry: `PROJECT/STACK/ENTRY` (render/sh/lib.sh check_owner). */
export const ownerOf = (ctx: Pick<PlanContext, "project" | "stack">, entry: string) => `${ctx.project}/${ctx.stack}/${entry}`;

/** Where the TLS port answers on the host itself: the bind address, or loopback for a wildcard one. */
export function localTlsAddress(bindAddress: string, port: number): string {
  const local = bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress === "::" ? "::1" : bindAddress;
  return tcpUrl(local, port).replace(/^tcp:\/\//, "");
}

/** The plan of `host` in `ctx`. */
export function planHost(host: HostConfig, ctx: PlanContext): HostPlan {
  const hostKeyAlgorithm = host.hostKey?.trim().split(/\s+/)[0];
  return {
    name: host.name,
    init: host.init,
    connection: {
      address: host.address,
      port: host.port,
      user: host.user,
      sudo: host.sudo,
      ...(host.hostKey !== undefined ? { hostKey: host.hostKey, hostKeyAlgorithm } : {}),
    },
    files: plannedFiles(host.init),
    listenHosts: listenHosts(host.daemon),
    tlsPaths: TLS_PATHS,
    daemonPort: host.daemon.port,
    dockerHost: tcpUrl(host.address, host.daemon.port),
    target: {
      host: host.name,
      owner: ownerOf(ctx, host.name),
      takeOver: host.takeOver,
      init: host.init,
      restartCommand: host.restartCommand,
      port: host.daemon.port,
      waitSeconds: ctx.waitSeconds,
      settleSeconds: ctx.settleSeconds,
      tlsConnect: localTlsAddress(host.daemon.bindAddress, host.daemon.port),
      serverCert: TLS_PATHS.serverCert,
      // Part of the apply step's command: a change of the allowed list runs the apply again.
      ...(host.security.enforceDockerGroup && host.security.dockerGroup !== undefined
        ? { dockerGroup: host.security.dockerGroup.slice().sort() }
        : {}),
    },
    security: securityPlan(host),
  };
}

/** What the planned files' contents are rendered from. */
export interface FileInputs {
  /** What the probe found on the host (parseProbe). */
  probe: ProbeResult;
  serverCertPem: string;
  serverKeyPem: string;
  clientCaBundle: string;
}

/**
 * The host's own dockerd settings, which daemon.json keeps: from the file dockerd read. That is the
 * --config-file its command named, if any (the drop-in and DOCKER_OPTS the program writes drop that
 * flag, so dockerd reads /etc/docker/daemon.json from then on), else /etc/docker/daemon.json.
 */
function originalSettings(host: string, probe: ProbeResult): Record<string, unknown> {
  const from = probe.configFilePath === undefined ? DAEMON_JSON_PATH : path.posix.normalize(probe.configFilePath);
  return from === DAEMON_JSON_PATH
    ? parseOriginalDaemonJson(host, probe.daemonJson)
    : parseOriginalDaemonJson(host, probe.configFile, from);
}

/** The planned files of `host` with their content. */
export function renderHostFiles(host: HostConfig, files: PlannedFile[], inputs: FileInputs): HostFile[] {
  const render = (source: FileSource): string => {
    switch (source) {
      case "clientCaBundle":
        return inputs.clientCaBundle;
      case "serverCert":
        return inputs.serverCertPem;
      case "serverKey":
        return inputs.serverKeyPem;
      case "daemonJson":
        return renderDaemonJson(originalSettings(host.name, inputs.probe), host.daemon, host.init);
      case "systemdDropIn":
        return renderSystemdDropIn(inputs.probe.execStart);
      case "defaultDocker":
        return renderDefaultDocker(inputs.probe.defaultDocker ?? "", host.daemon);
    }
  };
  return files.map((f) => ({ path: f.path, mode: f.mode, content: render(f.source) }));
}

/** The audit's mode: octal without the leading 0, as `stat -c %a` prints it (and the manifest lists it). */
export const auditMode = (mode: string) => mode.replace(/^0(?=\d{3}$)/, "");

/** The planned files with the SHA-256 of their rendered content, as the audit expects them. */
export function fileDigests(files: PlannedFile[], rendered: HostFile[]): FileDigest[] {
  return files.map((f) => {
    const r = rendered.find((x) => x.path === f.path);
    if (!r) throw new Error(`${f.path}: planned but not rendered`);
    return { path: f.path, mode: auditMode(f.mode), owner: f.owner, sha256: sha256(r.content) };
  });
}
