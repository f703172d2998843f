/**
 * What a host should have and what it has, compared: the audit's types, the type token and inputs
 * of its dynamic resource, and pure functions (no I/O). Used by the program (components/hostAudit.ts),
 * the dynamic provider (./provider.ts), the drift command (scripts/drift.ts) and the tests.
 *
 * An audit state (what the stack wants, or what a host has) is an AuditState. The resource's inputs
 * hold the wanted state flat (each file under its path, as a top-level key), so that Pulumi's
 * summary of a diff names the file or setting: `[diff: ~/etc/docker/daemon.json]`. Its output
 * `observed` holds what the host has, plus `error` (why it could not be inspected) and `endpoint`
 * (what the TLS port answered to a client without a certificate).
 *
 * The provider's serialized closure captures what it calls from here by value (see ./provider.ts),
 * so these functions use nothing but each other, the constants below and JavaScript's globals.
 */
import type { InitKind } from "../../config";
import type { SecurityPlan } from "../../host/plan";
import type { SecurityFacts } from "./facts";

/** The module and type name HostAudit's state resource is registered with (pulumi.dynamic.Resource's last two arguments). */
export const HOST_AUDIT_STATE_MODULE = "dockertls";
export const HOST_AUDIT_STATE_NAME = "HostAuditState";
/** The type token of HostAudit's state resource, as the engine and `pulumi stack export` name it. */
export const HOST_AUDIT_STATE_TYPE = `pulumi-nodejs:dynamic/${HOST_AUDIT_STATE_MODULE}:${HOST_AUDIT_STATE_NAME}`;

/** A managed file on a host: `-` for each field when it is absent. */
export interface AuditFile {
  /** SHA-256 of the content, hex. */
  sha256: string;
  /** Octal mode as `stat -c %a` prints it, e.g. `400`. */
  mode: string;
  /** `user:group`. */
  owner: string;
}

/** dockerd's effective listeners and TLS settings (its flags, then its daemon.json). */
export interface AuditTls {
  tlsverify: boolean;
  tlscacert: string;
  tlscert: string;
  tlskey: string;
  /** Listeners (`-H`, `hosts`), sorted. */
  listeners: string[];
}

/** What a host should have (`expected`), or what it has, in the same shape. */
export interface AuditState extends AuditTls {
  /** The host could be inspected over SSH. */
  reachable: boolean;
  /** dockerd runs. */
  running: boolean;
  /** Something listens on `port` on the host. */
  listening: boolean;
  /** dockerd's TLS port. */
  port: number;
  /** Per managed file path. */
  files: Record<string, AuditFile>;
  /** SHA-256 fingerprint (`AB:CD:…`) of the certificate that `port` serves, seen from the Pulumi machine; "" for none. */
  serverCertSha256: string;
  /** `port` refuses a TLS client without a certificate. */
  requireClientCert: boolean;
  /**
   * Who the host's state folder says manages it (`PROJECT/STACK/ENTRY`, render/sh/lib.sh); "" when
   * the folder or its owner record is missing (then destroy could not restore the host).
   */
  owner: string;
  /**
   * The docker group's members in the host's /etc/group, sorted. Wanted only with
   * `security.enforceDockerGroup` (then: the members allowed, and a member beyond them is drift that
   * the apply step heals); otherwise observed and never compared.
   */
  dockerGroup?: string[];
}

/** An observation: when `reachable` is false only `error`, `port` and the TLS probe's fields are set. */
export interface Observed extends Partial<AuditState> {
  reachable: boolean;
  /** Why the host could not be inspected. */
  error?: string;
  /** What the TLS port answered to a client without a certificate. */
  endpoint?: string;
  /**
   * The host's clock minus this machine's, in seconds, when it was inspected (SSH's delay
   * included): not a setting, so never drift, but HostAudit warns beyond CLOCK_WARN_SECONDS.
   */
  clockOffsetSeconds?: number;
  /**
   * The notAfter of the certificate that `port` serves (ISO 8601, UTC, to the second), "" for none;
   * absent from observations made before it was probed. Observed only, never wanted: expiry is
   * reported (`npm run drift`), never drift, since time alone changes nothing on the host.
   */
  serverCertNotAfter?: string;
  /** The security audit's facts (components/security/checks.ts judges them): observed, never drift. */
  security?: SecurityFacts;
}

/** One difference: `key` as in the resource's inputs (`["/etc/docker/server-key.pem"].mode`, `running`), `text` for people. */
export interface DriftItem {
  key: string;
  want: unknown;
  got: unknown;
  text: string;
}

/** How the audit reaches a host over SSH (as DockerHost does). */
export interface AuditConnection {
  /** Address. */
  host: string;
  port: number;
  user: string;
  /** Run the inspection and the heal through `sudo -n` (user is not root). */
  sudo: boolean;
  /** The pinned host key (`TYPE BASE64`), "" for none. */
  hostKey: string;
  /** The pinned key's algorithm, as the host's plan gives it (HostConnection.hostKeyAlgorithm), "" for none. */
  hostKeyAlgorithm: string;
  /** The SSH private key: a secret in the state, never captured by the provider. */
  privateKey: string;
}

/** The settings of an AuditState: every key but `files`. */
export type AuditSettings = Omit<AuditState, "files">;

/**
 * The inputs of HostAudit's state resource: the wanted state flat (each setting, and each managed
 * file under its path), and what the provider needs to inspect and heal the host.
 */
export interface HostAuditInputs extends AuditSettings {
  /** The host's name, for messages and the id. */
  host: string;
  init: InitKind;
  connection: AuditConnection;
  /**
   * How the heal reinstalls: DockerHost's upload step (its command line, and the payload it reads on
   * stdin: the files, the server key among them, so a secret), then its apply step (command line
   * and manifest). Staging again first heals a host whose staged files or state folder are gone.
   */
  heal: { command: string; manifest: string; upload: { command: string; payload: string } };
  /** Seconds allowed for the SSH connection and for the TLS port to answer. */
  timeoutSeconds: number;
  /**
   * What the security checks hold the host to (host/plan.ts SecurityPlan): stored so that
   * `npm run audit` judges a refreshed host as the program does. Never compared with the host.
   */
  securityPlan?: SecurityPlan;
  /** The wanted state of each managed file, under its path. */
  [path: `/${string}`]: AuditFile;
}

/**
 * The state resource's outputs: its inputs and the last observation. `heal` (about 30 KB a host)
 * stays in them although only create and update use it: read gets the outputs alone (the Node.js
 * dynamic provider passes it no inputs), and the inputs read returns replace the stored ones, so
 * outputs without `heal` make every refresh show `[diff: -heal]` (the drift e2e suite saw it).
 */
export type HostAuditOutputs = HostAuditInputs & { observed: Observed };

// The constants below are exported in an `export { }` list, not as `export const`: TypeScript
// compiles a module's own uses of an `export const` to `exports.NAME`, and the serialized provider
// would then capture this module's whole exports object.

/** What the engine sends for a value that is not known yet (preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** An absent file, in the shape of a present one. */
const ABSENT: AuditFile = { sha256: "-", mode: "-", owner: "-" };

/** The settings of an audit state, in the order they are checked. In inputs, files are the keys that start with "/". */
const SETTINGS: readonly (keyof AuditSettings)[] = [
  "reachable",
  "owner",
  "running",
  "listening",
  "port",
  "tlsverify",
  "tlscacert",
  "tlscert",
  "tlskey",
  "listeners",
  "serverCertSha256",
  "requireClientCert",
  "dockerGroup",
];

/** The inputs that are not the wanted state. */
const OTHER_INPUTS: readonly (keyof HostAuditInputs)[] = ["host", "init", "connection", "heal", "timeoutSeconds", "securityPlan"];

export { ABSENT, OTHER_INPUTS, SETTINGS, UNKNOWN };

type Props = Record<string, unknown>;

/** The wanted state held in a resource's (flat) inputs (HostAuditInputs, or a part of them). */
export function desiredOf(inputs: object): AuditState {
  const props = inputs as Props;
  const state: Props = { files: {} };
  const files = state.files as Props;
  // A setting that is not there (dockerGroup without enforcement) stays out: no undefined member,
  // which the dynamic-provider process could not send (read's props and inputs are protobuf Structs).
  for (const k of SETTINGS) if (props[k] !== undefined) state[k] = props[k];
  for (const k of Object.keys(props)) if (k.startsWith("/")) files[k] = props[k];
  return state as unknown as AuditState;
}

/** An audit state as flat inputs: the settings, and each file under its path. */
export function flatten(state: AuditState): Props {
  const out: Props = {};
  for (const k of SETTINGS) if (state[k] !== undefined) out[k] = state[k];
  for (const p of Object.keys(state.files)) out[p] = state.files[p];
  return out;
}

/** Whether a value holds something not known yet (UNKNOWN, at any depth). */
export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.keys(v).some((k) => containsUnknown((v as Props)[k]));
  return false;
}

/** The same JSON, whatever the order of object keys; undefined members do not count. */
export function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") {
      const out: Props = {};
      for (const k of Object.keys(v).sort()) if ((v as Props)[k] !== undefined) out[k] = norm((v as Props)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/**
 * What of `observed` can be held against `expected`: later checks are left out when an earlier
 * one already explains them (a stopped dockerd has no listener, no TLS settings, serves nothing).
 * Missing parts are taken from `expected`, so that they compare equal.
 */
export function comparable(expected: AuditState, observed: Observed | undefined): AuditState {
  if (!observed || observed.reachable === false) return { ...expected, reachable: false };
  const files: Record<string, AuditFile> = {};
  for (const p of Object.keys(expected.files)) {
    const f = (observed.files || {})[p] || ABSENT;
    files[p] = { sha256: f.sha256, mode: f.mode, owner: f.owner };
  }
  const out: AuditState = { ...expected, reachable: true, files, running: observed.running as boolean, owner: observed.owner ?? "" };
  // Enforced: a member beyond the allowed ones is drift (a member allowed but absent is not: the
  // apply step only removes). Not observed (an older provider): taken as wanted.
  if (expected.dockerGroup !== undefined && observed.dockerGroup !== undefined) {
    const allowed = expected.dockerGroup;
    const extra = observed.dockerGroup.some((u) => !allowed.includes(u));
    out.dockerGroup = extra ? observed.dockerGroup.slice().sort() : allowed;
  }
  if (!observed.running) return out;
  out.listening = observed.listening as boolean;
  for (const k of ["tlsverify", "tlscacert", "tlscert", "tlskey"] as const) (out as unknown as Props)[k] = observed[k];
  out.listeners = (observed.listeners || []).slice().sort();
  if (!observed.listening) return out;
  out.serverCertSha256 = observed.serverCertSha256 as string;
  out.requireClientCert = observed.requireClientCert as boolean;
  return out;
}

const short = (s: string) => (s && s.length > 23 ? `${s.slice(0, 23)}…` : s);

/**
 * The differences between what the stack wants and what the host has, one item per file
 * attribute or setting: `key` names it as in the inputs (`["/etc/docker/server-key.pem"].mode`, `running`),
 * `text` says it for people (`/etc/docker/server-key.pem mode 644 (want 400)`).
 */
export function compareAudit(expected: AuditState, observed: Observed | undefined): DriftItem[] {
  const got = comparable(expected, observed);
  if (got.reachable === false) {
    return [{ key: "reachable", want: true, got: false, text: `unreachable: ${(observed && observed.error) || "not inspected"}` }];
  }
  const items: DriftItem[] = [];
  const add = (key: string, want: unknown, have: unknown, text: string) => items.push({ key, want, got: have, text });
  for (const p of Object.keys(expected.files).sort()) {
    const w = expected.files[p];
    const g = got.files[p];
    const key = `[${JSON.stringify(p)}]`;
    if (g.sha256 === "-") {
      add(`${key}.sha256`, w.sha256, "-", `${p} missing`);
      continue;
    }
    if (g.sha256 !== w.sha256)
      add(`${key}.sha256`, w.sha256, g.sha256, `${p} content changed (sha256 ${short(g.sha256)}, want ${short(w.sha256)})`);
    if (g.mode !== w.mode) add(`${key}.mode`, w.mode, g.mode, `${p} mode ${g.mode} (want ${w.mode})`);
    if (g.owner !== w.owner) add(`${key}.owner`, w.owner, g.owner, `${p} owner ${g.owner} (want ${w.owner})`);
  }
  const port = expected.port;
  if (expected.dockerGroup !== undefined && !sameJson(got.dockerGroup, expected.dockerGroup)) {
    const others = (got.dockerGroup || []).filter((u) => !(expected.dockerGroup as string[]).includes(u));
    const allowed = expected.dockerGroup.length ? expected.dockerGroup.join(",") : "nobody";
    add("dockerGroup", expected.dockerGroup, got.dockerGroup, `docker group has ${others.join(",")} (allowed: ${allowed})`);
  }
  if (got.owner !== expected.owner) {
    const text = got.owner
      ? `managed by ${got.owner} (want ${expected.owner})`
      : `the program's state folder or its owner record is missing (want ${expected.owner})`;
    add("owner", expected.owner, got.owner, text);
  }
  if (got.running !== expected.running)
    add("running", expected.running, got.running, expected.running ? "dockerd not running" : "dockerd running");
  if (got.listening !== expected.listening) add("listening", expected.listening, got.listening, `dockerd not listening on port ${port}`);
  if (got.tlsverify !== expected.tlsverify)
    add("tlsverify", expected.tlsverify, got.tlsverify, `dockerd tlsverify ${got.tlsverify} (want ${expected.tlsverify})`);
  for (const k of ["tlscacert", "tlscert", "tlskey"] as const) {
    if (got[k] !== expected[k]) add(k, expected[k], got[k], `dockerd ${k} ${got[k] || "unset"} (want ${expected[k]})`);
  }
  if (!sameJson(got.listeners, expected.listeners)) {
    add(
      "listeners",
      expected.listeners,
      got.listeners,
      `dockerd listens on ${got.listeners.join(",") || "nothing"} (want ${expected.listeners.join(",")})`,
    );
  }
  if (got.serverCertSha256 !== expected.serverCertSha256) {
    const text = got.serverCertSha256
      ? `port ${port} serves certificate ${short(got.serverCertSha256)} (want ${short(expected.serverCertSha256)})`
      : `port ${port} serves no TLS certificate (${(observed && observed.endpoint) || "no answer"})`;
    add("serverCertSha256", expected.serverCertSha256, got.serverCertSha256, text);
  }
  if (got.requireClientCert !== expected.requireClientCert) {
    const text = expected.requireClientCert
      ? `port ${port} does not demand a client certificate`
      : `port ${port} demands a client certificate`;
    add("requireClientCert", expected.requireClientCert, got.requireClientCert, text);
  }
  return items;
}

/** The inputs a refresh leaves in the state: the observation, in the shape of the wanted state. */
export function observedAsInputs(outputs: object, observed: Observed): Props {
  const props = outputs as Props;
  const inputs: Props = {};
  for (const k of Object.keys(props)) {
    if (k !== "observed" && k !== "__provider" && !k.startsWith("/") && !(SETTINGS as readonly string[]).includes(k)) inputs[k] = props[k];
  }
  return { ...inputs, ...flatten(comparable(desiredOf(props), observed)) };
}

/** The top-level input that a drift item's key is under: `["/etc/docker/ca.pem"].mode` is under `/etc/docker/ca.pem`. */
export function topKey(key: string): string {
  return key.startsWith("[") ? JSON.parse(key.slice(1, key.indexOf("]"))) : key.split(".")[0];
}
