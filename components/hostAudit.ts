import * as pulumi from "@pulumi/pulumi";
import type { HostConfig } from "../config";
import { DAEMON_JSON_PATH, DEFAULT_DOCKER_PATH, DROP_IN_PATH, TLS_PATHS, listenHosts } from "../render/daemon";
import {
  AuditFile,
  AuditState,
  DriftItem,
  HOST_AUDIT_STATE_MODULE,
  HOST_AUDIT_STATE_NAME,
  HostAuditInputs,
  Observed,
  SETTINGS,
  compareAudit,
} from "./audit/compare";
import { provider } from "./audit/provider";

export interface HostAuditArgs {
  /** The host, validated (see config.ts). */
  host: HostConfig;
  /** SSH private key for `host.user`; a secret (and kept one in the state). */
  sshPrivateKey: pulumi.Input<string>;
  /** `sha256 mode path` per managed file: DockerHost.manifest. */
  manifest: pulumi.Input<string>;
  /** The command line of DockerHost's apply step (DockerHost.applyCommand): what heals the host. */
  applyCommand: pulumi.Input<string>;
  /** SHA-256 fingerprint (`AB:CD:…`) of the certificate the daemon must serve: ServerCertificate.sha256. */
  serverCertSha256: pulumi.Input<string>;
  /** Seconds allowed for the SSH connection and for the TLS port to answer (config.ts: AUDIT_TIMEOUT_SECONDS). */
  timeoutSeconds: number;
}

/** Every file the program manages is owned by root (the apply script sets it). */
const OWNER = "root:root";

/** The files of a DockerHost manifest (`sha256 mode path` lines), as an audit expects them. */
export function expectedFiles(manifest: string): Record<string, AuditFile> {
  const files: Record<string, AuditFile> = {};
  for (const line of manifest.split("\n")) {
    const [sha256, mode, ...rest] = line.trim().split(/\s+/);
    if (!sha256 || !mode || rest.length === 0) continue;
    files[rest.join(" ")] = { sha256, mode, owner: OWNER };
  }
  return files;
}

/**
 * The files DockerHost manages on a host of this init kind (the paths of its manifest). Known
 * before the manifest is, because each becomes an input of its own (see HostAudit).
 */
export function managedPaths(init: HostConfig["init"]): string[] {
  const settings = init === "systemd" ? [DROP_IN_PATH] : init === "sysv" ? [DEFAULT_DOCKER_PATH] : [];
  return [TLS_PATHS.clientCaBundle, TLS_PATHS.serverCert, TLS_PATHS.serverKey, DAEMON_JSON_PATH, ...settings].sort();
}

/** What the audit of `host` expects: the manifest's files, dockerd running with TLS, the certificate it serves. */
export function expectedState(host: HostConfig, manifest: string, serverCertSha256: string): AuditState {
  const files = expectedFiles(manifest);
  const paths = managedPaths(host.init);
  if (JSON.stringify(Object.keys(files).sort()) !== JSON.stringify(paths)) {
    throw new Error(`host ${host.name}: the manifest lists ${Object.keys(files).sort().join(", ")}; the audit expects ${paths.join(", ")}`);
  }
  return {
    reachable: true,
    running: true,
    listening: true,
    port: host.daemon.port,
    files,
    tlsverify: true,
    tlscacert: TLS_PATHS.clientCaBundle,
    tlscert: TLS_PATHS.serverCert,
    tlskey: TLS_PATHS.serverKey,
    listeners: listenHosts(host.daemon).slice().sort(),
    serverCertSha256,
    requireClientCert: true,
  };
}

/**
 * expectedState for the component `audit`: a manifest that does not list the managed files is a
 * pulumi.ResourceError on it with its stack hidden, so that the CLI shows the message under the
 * host's audit instead of an "unhandled exception" with the stack of an apply callback.
 */
export function auditExpectedState(host: HostConfig, manifest: string, serverCertSha256: string, audit: pulumi.Resource): AuditState {
  try {
    return expectedState(host, manifest, serverCertSha256);
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, audit, true);
  }
}

/** A value whose parts, at any depth, may each be an Output. */
type DeepInput<T> = pulumi.Input<T extends (infer U)[] ? DeepInput<U>[] : T extends object ? { [K in keyof T]: DeepInput<T[K]> } : T>;

/** HostAuditInputs as the state resource takes them: each one, and each part of one, may be an Output. */
export type HostAuditStateArgs = { [K in keyof HostAuditInputs]: DeepInput<HostAuditInputs[K]> };

/** The state resource (type HOST_AUDIT_STATE_TYPE): inputs as below; `observed` is the output a refresh renews. */
class HostAuditState extends pulumi.dynamic.Resource {
  declare readonly observed: pulumi.Output<Observed>;

  constructor(name: string, props: HostAuditStateArgs, opts: pulumi.CustomResourceOptions) {
    super(provider, name, { ...props, observed: undefined }, opts, HOST_AUDIT_STATE_MODULE, HOST_AUDIT_STATE_NAME);
  }
}

/**
 * Drift detection for one host, in Pulumi's own workflow. A dynamic resource (`${name}-state`)
 * whose read really looks at the host:
 * - over SSH (the `ssh2` library, host key pinned as for DockerHost): SHA-256, mode and owner of
 *   each managed file, whether dockerd runs, its effective listeners and TLS settings (its flags
 *   and daemon.json), and whether anything listens on the TLS port;
 * - over TLS from the machine running Pulumi: the fingerprint of the certificate the port serves,
 *   and whether it refuses a client without a certificate.
 *
 * The wanted state is the resource's inputs, flat: each file under its path, and each setting
 * (`running`, `tlsverify`, `serverCertSha256`, …). A refresh stores the observation, and the
 * observation in that same shape as the inputs; so `pulumi preview --refresh` shows drift as a
 * diff naming the host (`audit-NAME-state`) and the file or setting
 * (`[diff: ~/etc/docker/server-key.pem]`; with --diff, `mode: "644" => "400"`), and fails with
 * `--expect-no-changes`. `pulumi up --refresh` heals: the host's apply script (the same command and
 * manifest as DockerHost's apply step, its files already staged) reinstalls what differs and
 * restarts dockerd once, or rolls back; then the host is inspected again.
 *
 * Drift is planned as a replacement, not an update, and the heal runs as the create: in a preview
 * the replacement's id is unknown, so the EndpointCheck's docker call that depends on this audit
 * is skipped rather than failing against a stopped or TLS-less daemon (an update keeps its id, and
 * the call would run and fail the preview). Delete does nothing on the host. A host that cannot
 * be inspected is `observed.reachable: false` with the error, not an exception.
 */
export class HostAudit extends pulumi.ComponentResource {
  /** The last observation of the host. */
  readonly observed: pulumi.Output<Observed>;
  /** What differs from the desired state, per file attribute or setting; empty when the host matches. */
  readonly drift: pulumi.Output<DriftItem[]>;

  constructor(name: string, args: HostAuditArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:host:HostAudit", name, {}, opts);
    const h = args.host;
    const expected = pulumi.all([args.manifest, args.serverCertSha256]).apply(([m, fp]) => auditExpectedState(h, m, fp, this));
    // One input per file and setting (see above); their values come with the manifest.
    const wanted: Record<string, pulumi.Input<unknown>> = {};
    for (const key of [...SETTINGS, ...managedPaths(h.init)]) {
      wanted[key] = expected.apply((e) => (key.startsWith("/") ? e.files[key] : e[key as keyof AuditState]));
    }
    const state = new HostAuditState(
      `${name}-state`,
      {
        ...(wanted as HostAuditStateArgs),
        host: h.name,
        init: h.init,
        connection: {
          host: h.address,
          port: h.port,
          user: h.user,
          sudo: h.sudo,
          hostKey: h.hostKey ?? "",
          privateKey: pulumi.secret(args.sshPrivateKey),
        },
        heal: { command: args.applyCommand, manifest: args.manifest },
        timeoutSeconds: args.timeoutSeconds,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.observed = state.observed;
    this.drift = pulumi.all([expected, state.observed]).apply(([e, o]) => compareAudit(e, o));
    this.registerOutputs({ observed: this.observed });
  }
}
