/**
 * Pure render functions for the shell scripts that DockerHost runs on a host over SSH, and for
 * what it sends them on stdin. POSIX sh only (Debian's dash included): the hosts need nothing
 * beyond coreutils, and systemctl/journalctl or a `service docker` script.
 *
 * Layout on the host (all under /etc/docker, which is made 0700 root):
 *   /etc/docker/docker-tls/owner           who manages the host: PROJECT/STACK/ENTRY, and since when
 *   /etc/docker/docker-tls/manifest        `sha256 mode path` of each file the owner installed
 *   /etc/docker/docker-tls/next/<sha256>   files staged by the upload step, named by content, until
 *                                          the apply step installed them
 *   /etc/docker/docker-tls/backup/         the host's files before the first run (for destroy)
 *   /etc/docker/docker-tls/prev/           the live files during a change (rollback)
 *
 * Secrets travel only on stdin (the upload step), never in a command line: the scripts below are
 * the command lines, and they hold no key.
 *
 * The shell itself lives in render/sh/: lib.sh (set -eu, say/fail, the owner record), daemon.sh
 * (the daemon control that apply and restore share) and one script per step. This module only
 * renders a prelude of quoted variables and joins prelude + lib.sh (+ daemon.sh) + the step's
 * script, without comment lines (compactShell), into the command text, so no shell is written
 * inside TypeScript strings and shellcheck reads the real files (`npm run lint`). What differs
 * between init kinds is a `case "$INIT"` in the shell.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { InitKind } from "../config";
import { DAEMON_JSON_PATH, DROP_IN_PATH, daemonJsonRestartPart } from "./daemon";

/**
 * The program's state folder on hosts. Exported in a list, not as `export const`: the audit's
 * serialized provider captures renderInspectScript, and TypeScript compiles a module's own uses of
 * an `export const` to `exports.NAME`, which would capture this module's whole exports object.
 */
const STATE_DIR = "/etc/docker/docker-tls";
export { STATE_DIR };

/** A file the program manages on a host. */
export interface HostFile {
  path: string;
  /** Octal mode, e.g. "0444". */
  mode: string;
  content: string;
}

/** How DockerHost's scripts restart and watch dockerd on one host. */
export interface ScriptTarget {
  host: string;
  /**
   * Who the steps act for, `PROJECT/STACK/ENTRY`: recorded on the host as its owner (render/sh/lib.sh
   * check_owner). Another entry of the same project and stack adopts the host (a rename); another
   * project or stack is refused unless `takeOver`.
   */
  owner: string;
  /** May take the host from another project or stack. */
  takeOver: boolean;
  init: InitKind;
  /** With init `custom`: the command that restarts dockerd. */
  restartCommand?: string;
  /** The TLS port that must answer after a restart. */
  port: number;
  /** Seconds to wait for dockerd to come back before rolling back. */
  waitSeconds: number;
  /** Seconds a restarted dockerd must then stay up, the same process, before the restart counts (config.ts). */
  settleSeconds: number;
  /** `ADDRESS:PORT` where the TLS port answers on the host itself (127.0.0.1 for a daemon bound to all addresses). */
  tlsConnect: string;
  /** The installed server certificate: what the TLS port must serve after a restart. */
  serverCert: string;
  /**
   * The state folder, STATE_DIR unless set. Its parent is the folder made 0700 root (/etc/docker
   * on hosts) so that the staged keys are private. Tests point both at a temporary folder here.
   */
  stateDir?: string;
  /**
   * The systemd drop-in this program writes, DROP_IN_PATH unless set: the probe leaves it out when
   * it reads the unit's ExecStart. Tests point it at a temporary file.
   */
  dropInPath?: string;
  /**
   * With `security.enforceDockerGroup`: the members the `docker` group may keep (sorted). The apply
   * step removes the others (render/sh/daemon.sh enforce_docker_group); undefined: the group is left alone.
   */
  dockerGroup?: string[];
  /**
   * A folder standing for `/` where the group files are (`ROOT_DIR/etc/group`), for tests; unset on
   * hosts. With it, gpasswd is run with `--root`.
   */
  rootDir?: string;
}

/** Quotes a string for POSIX sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Wraps a script into the command line that runs it, through `sudo -n` for a non-root user. */
export function remoteCommand(script: string, sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}sh -c ${shellQuote(script)}`;
}

export const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** When the youngest certificate that the daemon must accept became valid (render/sh/upload.sh checks the host's clock). */
export interface ValidFrom {
  /** Seconds since the epoch (the certificate's notBefore). */
  epoch: number;
  /** Which certificate, for the message: `client certificate ci`. */
  what: string;
}

/** The ValidFrom of the certificate that became valid last; RFC 3339 times (validityStartTime). */
export function latestValidFrom(certs: { notBefore: string; what: string }[]): ValidFrom {
  let best: ValidFrom = { epoch: 0, what: "no certificate" };
  for (const c of certs) {
    const epoch = Math.floor(Date.parse(c.notBefore) / 1000);
    if (Number.isFinite(epoch) && epoch > best.epoch) best = { epoch, what: c.what };
  }
  return best;
}

/**
 * stdin of the upload step: a `VALID_FROM EPOCH WHAT` line (see ValidFrom; tests may leave it at
 * the epoch), then each file's content in base64 between FILE and END lines.
 */
export function renderUploadPayload(files: HostFile[], validFrom: ValidFrom = { epoch: 0, what: "no certificate" }): string {
  const header = `VALID_FROM ${Math.floor(validFrom.epoch)} ${validFrom.what.replace(/\s+/g, " ")}\n`;
  return (
    header +
    files
      .map((f) => {
        const b64 = Buffer.from(f.content, "utf8")
          .toString("base64")
          .replace(/.{1,76}/g, "$&\n");
        return `FILE\n${b64}END\n`;
      })
      .join("")
  );
}

/**
 * The part of a file's content whose change needs a restart, as a SHA-256: for daemon.json its keys
 * but those dockerd reloads on SIGHUP (render/daemon.ts), for any other file all of it.
 */
export function restartDigest(f: HostFile): string {
  return sha256(f.path === DAEMON_JSON_PATH ? daemonJsonRestartPart(f.content) : f.content);
}

/**
 * stdin of the apply step: `sha256 mode path restart-digest` per file (restartDigest: when only
 * the sha256 changes, a reload is enough), then `end`, so that the script can tell a list cut short
 * by a dropped connection from a whole one. Holds no secret.
 */
export function renderManifest(files: HostFile[]): string {
  return files.map((f) => `${sha256(f.content)} ${f.mode.replace(/^0(?=\d{3}$)/, "")} ${f.path} ${restartDigest(f)}\n`).join("") + "end\n";
}

/**
 * A shell file as it goes into command text: without its comment-only and blank lines, which are
 * for the reader of render/sh/ and were about half of its bytes. Every command is kept twice in the
 * state (inputs and outputs), and the engine rewrites the whole state at each checkpoint, so these
 * bytes cost CPU on every step of every run (README, Speed and cost). Only whole lines go: a
 * comment after code stays, and so does every line of code with its indentation. A line that
 * starts with `#` inside a multi-line quoted string would be lost, so the shell keeps none:
 * test/unit/compactShell.test.ts checks with shfmt that each file's syntax tree is unchanged.
 */
export function compactShell(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s*(#.*)?$/.test(line))
    .map((line) => `${line}\n`)
    .join("");
}

/**
 * The shell files, read once when the module loads: next to this module (through __dirname, so a
 * work dir that symlinks render/ finds them too), compacted (compactShell).
 */
const readSh = (name: string) => compactShell(fs.readFileSync(path.join(__dirname, "sh", `${name}.sh`), "utf8"));
const LIBRARY = readSh("lib");
/** The daemon control (render/sh/daemon.sh): only the steps that touch dockerd carry it. */
const DAEMON = readSh("daemon");
const STEPS = {
  probe: readSh("probe"),
  upload: readSh("upload"),
  apply: readSh("apply"),
  restore: readSh("restore"),
  unstage: readSh("unstage"),
} as const;
/** The drift audit's look at a host: not a step, so without lib.sh (render/sh/inspect.sh). */
const INSPECT = readSh("inspect");
/** The security audit's look at a host, run with INSPECT (render/sh/security.sh). */
const SECURITY = readSh("security");

/**
 * The variables lib.sh and the step scripts read (lib.sh lists them). Every step gets the first
 * three; a step that does not know the target leaves the rest out rather than invent values, and
 * its shell never reads them (`set -u` would say so at once).
 */
interface Prelude {
  HOST: string;
  STATE: string;
  ETC_DOCKER: string;
  OWNER: string;
  TAKE_OVER: "yes" | "no";
  INIT?: InitKind;
  PORT?: number;
  TLS_CONNECT?: string;
  SERVER_CERT?: string;
  WAIT?: number;
  SETTLE?: number;
  RESTART_COMMAND?: string;
  DROP_IN?: string;
  DOCKER_GROUP_ENFORCE?: "yes" | "no";
  DOCKER_GROUP_ALLOWED?: string;
  ROOT_DIR?: string;
}

/** One `NAME='value'` line per set variable, each through shellQuote: no value can become code. */
function renderPrelude(p: Prelude): string {
  return Object.entries(p)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${shellQuote(String(v))}\n`)
    .join("");
}

/** The steps that need no more of the target than whose host it is and where its state lives. */
export type HostTarget = Pick<ScriptTarget, "host" | "owner" | "takeOver" | "stateDir">;

/** The prelude's HOST, STATE, ETC_DOCKER, OWNER and TAKE_OVER: what every step needs. */
function hostVars(t: HostTarget): Prelude {
  const state = t.stateDir ?? STATE_DIR;
  return { HOST: t.host, STATE: state, ETC_DOCKER: path.posix.dirname(state), OWNER: t.owner, TAKE_OVER: t.takeOver ? "yes" : "no" };
}

/**
 * Everything a step that restarts dockerd needs. RESTART_COMMAND is empty unless init is custom.
 * The docker group's allowed members (apply enforces them) and ROOT_DIR (tests only) come last.
 */
function targetVars(t: ScriptTarget): Prelude {
  return {
    ...hostVars(t),
    INIT: t.init,
    PORT: t.port,
    TLS_CONNECT: t.tlsConnect,
    SERVER_CERT: t.serverCert,
    WAIT: t.waitSeconds,
    SETTLE: t.settleSeconds,
    RESTART_COMMAND: t.restartCommand ?? "",
    DOCKER_GROUP_ENFORCE: t.dockerGroup !== undefined ? "yes" : "no",
    DOCKER_GROUP_ALLOWED: (t.dockerGroup ?? []).join(" "),
    ROOT_DIR: t.rootDir,
  };
}

/** The steps that restart dockerd, install or restore files: they get daemon.sh after lib.sh. */
const DAEMON_STEPS: readonly (keyof typeof STEPS)[] = ["apply", "restore"];

const compose = (step: keyof typeof STEPS, vars: Prelude) =>
  renderPrelude(vars) + LIBRARY + (DAEMON_STEPS.includes(step) ? DAEMON : "") + STEPS[step];

/**
 * The prelude, lib.sh and daemon.sh without a step: for tests that call the library's functions
 * one by one (append a line such as `restart_daemon`).
 */
export function renderLibrary(t: ScriptTarget): string {
  return renderPrelude(targetVars(t)) + LIBRARY + DAEMON;
}

/**
 * Reads what the host has before the program changes anything (render/sh/probe.sh): daemon.json,
 * /etc/default/docker, the docker unit's ExecStart and the --config-file dockerd was started with,
 * as parseProbe reads them. After the first
 * run the backup is read instead, and the ExecStart comes from the unit's files without our
 * drop-in, so the answer stays the host's original. It fails early, with the host's name, when
 * dockerd or the expected init system is missing.
 */
export function renderProbeScript(t: HostTarget & Pick<ScriptTarget, "init" | "dropInPath">): string {
  return compose("probe", { ...hostVars(t), INIT: t.init, DROP_IN: t.dropInPath ?? DROP_IN_PATH });
}

/** What the probe found. */
export interface ProbeResult {
  daemonJson?: string;
  defaultDocker?: string;
  /** The docker unit's ExecStart argv (without our drop-in), if systemd runs docker. */
  execStart?: string[];
  /**
   * The --config-file dockerd was started with, if any: from the unit's ExecStart with init
   * systemd, from DOCKER_OPTS with sysv (never looked for with custom). dockerd read its settings
   * from there rather than from /etc/docker/daemon.json.
   */
  configFilePath?: string;
  /** That file's content, if it exists. */
  configFile?: string;
}

/**
 * The words of an ExecStart value as systemd splits them: at whitespace, except inside double or
 * single quotes, which are removed (`"--config-file=/etc/my docker.json"` is one word). Escapes
 * inside quotes are not interpreted; units rarely use them.
 */
export function splitExecStart(line: string): string[] {
  return (line.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []).map((w) => w.replace(/"([^"]*)"|'([^']*)'/g, "$1$2"));
}

/** Parses the probe's stdout. */
export function parseProbe(stdout: string): ProbeResult {
  const sections = new Map<string, string>();
  let current: string | undefined;
  for (const line of stdout.split("\n")) {
    const m = /^=== (\S+)$/.exec(line);
    if (m) {
      current = m[1];
      sections.set(current, "");
    } else if (current !== undefined) {
      sections.set(current, sections.get(current) + line.trim());
    }
  }
  const decode = (name: string) => {
    const v = sections.get(name);
    return v === undefined || v === "ABSENT" ? undefined : Buffer.from(v, "base64").toString("utf8");
  };
  // The ExecStart line's value as the unit file has it: `/usr/bin/dockerd -H fd:// --containerd=…`.
  const execLine = decode("execstart")?.trim();
  const argv = execLine ? splitExecStart(execLine) : undefined;
  return {
    daemonJson: decode("daemon.json"),
    defaultDocker: decode("default-docker"),
    execStart: argv,
    configFilePath: decode("config-file-path"),
    configFile: decode("config-file"),
  };
}

/**
 * Parses the host's original dockerd settings, `file` (/etc/docker/daemon.json unless dockerd was
 * given another --config-file); a missing file is `{}`; a broken one names the host and the file.
 */
export function parseOriginalDaemonJson(host: string, text: string | undefined, file = DAEMON_JSON_PATH): Record<string, unknown> {
  if (text === undefined || text.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`host ${host}: ${file} is not a JSON object; fix or remove it first`);
}

/**
 * Stages the files sent on stdin (see renderUploadPayload) into $STATE/next/<sha256>
 * (render/sh/upload.sh); a half-written key never exists under its name.
 */
export function renderUploadScript(t: HostTarget): string {
  return compose("upload", hostVars(t));
}

/**
 * Installs the staged files listed on stdin (see renderManifest) and restarts dockerd only if one
 * changed, rolling back to the previous files if it does not come back (render/sh/apply.sh).
 */
export function renderApplyScript(t: ScriptTarget): string {
  return compose("apply", targetVars(t));
}

/** Puts the host back as it was before the first run (destroy), and restarts dockerd on it (render/sh/restore.sh). */
export function renderRestoreScript(t: ScriptTarget): string {
  return compose("restore", targetVars(t));
}

/** Removes the staging folder (destroy of the upload step; render/sh/unstage.sh). */
export function renderUnstageScript(t: HostTarget): string {
  return compose("unstage", hostVars(t));
}

/** What the drift audit inspects on one host. */
export interface InspectTarget {
  init: InitKind;
  /** dockerd's TLS port. */
  port: number;
  /** The managed files: their paths are the keys. */
  files: Record<string, unknown>;
  /** The state folder, STATE_DIR unless set (tests point it at a temporary folder). */
  stateDir?: string;
}

/**
 * Reads a host's side of the drift audit (render/sh/inspect.sh): each managed file's SHA-256,
 * mode and owner, whether dockerd runs (and its argv and daemon.json), whether the TLS port
 * listens, and who the state folder says owns the host. Its prelude quotes INIT, PORT and STATE, and sets the files' paths (sorted) as the positional
 * parameters. components/audit/inspect.ts runs it through remoteCommand and parses the output.
 *
 * The audit's dynamic provider calls this in the dynamic-provider process, where this module is
 * not loaded: Pulumi's closure serializer captures this function with INSPECT (the file's text,
 * read when this module loads here) and shellQuote by value.
 */
export function renderInspectScript(t: InspectTarget): string {
  const files = Object.keys(t.files).sort().map(shellQuote).join(" ");
  const vars = `INIT=${shellQuote(t.init)}\nPORT=${shellQuote(String(Number(t.port)))}\nSTATE=${shellQuote(t.stateDir ?? STATE_DIR)}\n`;
  return `${vars}set --${files ? ` ${files}` : ""}\n${INSPECT}`;
}

/** What the security audit needs to know to look at a host. */
export interface SecurityTarget {
  /** The daemon's TLS files: their owner and mode are checked. */
  tlsPaths: { clientCaBundle: string; serverCert: string; serverKey: string };
  /** A folder standing for `/`, for tests; unset on hosts. */
  rootDir?: string;
}

/**
 * Reads the host's side of the security audit (render/sh/security.sh): the docker group, owner and
 * mode of dockerd's socket and files, every TCP listener, AppArmor, SELinux, cgroups, `docker info`.
 * Read-only. Its prelude quotes ROOT and the TLS paths.
 *
 * Captured by the audit's serialized provider like renderInspectScript (SECURITY is the file's text).
 */
export function renderSecurityScript(t: SecurityTarget): string {
  const vars: [string, string][] = [
    ["ROOT", t.rootDir ?? ""],
    ["TLS_CA", t.tlsPaths.clientCaBundle],
    ["TLS_CERT", t.tlsPaths.serverCert],
    ["TLS_KEY", t.tlsPaths.serverKey],
  ];
  return vars.map(([k, v]) => `${k}=${shellQuote(v)}\n`).join("") + SECURITY;
}

/**
 * One command for both looks at a host, so that the audit opens one SSH session: the inspect script,
 * then the security script in a subshell of its own (its variables and options stay there), whose
 * failure is said (`security.error`) and does not fail the inspection. components/audit/inspect.ts
 * parses the drift facts (parseInspect) and the security facts (parseSecurity) from the one output.
 */
export function renderAuditScript(inspect: InspectTarget, security: SecurityTarget): string {
  return `${renderInspectScript(inspect)}(\n${renderSecurityScript(security)}) || echo "security.error exit $?"\n`;
}
