/** Types of hostAuditProvider.js (plain JavaScript, so that the dynamic provider runs without ts-node). */
import type * as pulumi from "@pulumi/pulumi";

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
}

/** An observation: when `reachable` is false only `error`, `port` and the TLS probe's fields are set. */
export interface Observed extends Partial<AuditState> {
  reachable: boolean;
  /** Why the host could not be inspected. */
  error?: string;
  /** What the TLS port answered to a client without a certificate. */
  endpoint?: string;
}

/** One difference: `key` as in the resource's inputs (`["/etc/docker/server-key.pem"].mode`, `running`), `text` for people. */
export interface DriftItem {
  key: string;
  want: unknown;
  got: unknown;
  text: string;
}

export const UNKNOWN: string;
/** The settings of an audit state; in a resource's inputs, files are the keys that start with "/". */
export const SETTINGS: readonly string[];
export const provider: pulumi.dynamic.ResourceProvider;
/** The wanted state held in a resource's flat inputs. */
export function desiredOf(props: Record<string, unknown>): AuditState;
/** An audit state as flat inputs: the settings, and each file under its path. */
export function flatten(state: AuditState): Record<string, unknown>;
export function compareAudit(expected: AuditState, observed: Observed | undefined): DriftItem[];
export function comparable(expected: AuditState, observed: Observed | undefined): AuditState;
export function effectiveTls(argv: string[], configText: string | undefined): AuditTls;
export function parseInspect(stdout: string, paths: string[]): AuditTls & Pick<AuditState, "files" | "running" | "listening">;
export function renderInspectScript(t: { init: string; port: number; files: Record<string, unknown> }): string;
/** What ADDRESS:PORT serves to a TLS client without a certificate, from this machine. */
export function probeTls(
  address: string,
  port: number,
  timeoutMs: number,
): Promise<{ serverCertSha256: string; requireClientCert: boolean; endpoint: string }>;
export function containsUnknown(v: unknown): boolean;
/** The host key algorithms the audit's SSH client negotiates for a pinned key (`TYPE BASE64`); undefined when none is pinned. */
export function hostKeyAlgorithms(hostKey: string | undefined): string[] | undefined;
