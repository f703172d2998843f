import * as pulumi from "@pulumi/pulumi";
import { FileDigest, HostConnection, HostPlan } from "../host/plan";
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
import { HostSecurity, failingWarnings, hostSecurity } from "./security/checks";

export interface HostAuditArgs {
  /** The host's plan (host/plan.ts), as DockerHost got it. */
  plan: HostPlan;
  /** SSH private key for `host.user`; a secret (and kept one in the state). */
  sshPrivateKey: pulumi.Input<string>;
  /** The managed files as installed, with their SHA-256: DockerHost.files. */
  files: pulumi.Input<FileDigest[]>;
  /** `sha256 mode path` per managed file: DockerHost.manifest, what the heal sends the apply script. */
  manifest: pulumi.Input<string>;
  /** The command line of DockerHost's apply step (DockerHost.applyCommand): what heals the host. */
  applyCommand: pulumi.Input<string>;
  /** The command line of DockerHost's upload step (DockerHost.uploadCommand): the heal stages the files first. */
  uploadCommand: pulumi.Input<string>;
  /** What the upload step reads on stdin (DockerHost.uploadPayload): the files, the server key among them; a secret. */
  uploadPayload: pulumi.Input<string>;
  /** SHA-256 fingerprint (`AB:CD:…`) of the certificate the daemon must serve: ServerCertificate.sha256. */
  serverCertSha256: pulumi.Input<string>;
  /** Seconds allowed for the SSH connection and for the TLS port to answer (config.ts: AUDIT_TIMEOUT_SECONDS). */
  timeoutSeconds: number;
}

/** The managed files as the audit's inputs hold them: `{sha256, mode, owner}` under each path. */
export function auditFiles(files: FileDigest[]): Record<string, AuditFile> {
  return Object.fromEntries(files.map((f) => [f.path, { sha256: f.sha256, mode: f.mode, owner: f.owner }]));
}

/** What the audit of a planned host expects: its files (as DockerHost installed them), dockerd running with TLS, the certificate it serves. */
export function plannedState(plan: HostPlan, files: FileDigest[], serverCertSha256: string): AuditState {
  const listed = files.map((f) => f.path).sort();
  const paths = plan.files.map((f) => f.path).sort();
  if (JSON.stringify(listed) !== JSON.stringify(paths)) {
    throw new Error(`host ${plan.name}: the manifest lists ${listed.join(", ")}; the audit expects ${paths.join(", ")}`);
  }
  return {
    reachable: true,
    running: true,
    listening: true,
    port: plan.daemonPort,
    files: auditFiles(files),
    tlsverify: true,
    tlscacert: plan.tlsPaths.clientCaBundle,
    tlscert: plan.tlsPaths.serverCert,
    tlskey: plan.tlsPaths.serverKey,
    listeners: plan.listenHosts.slice().sort(),
    serverCertSha256,
    requireClientCert: true,
    owner: plan.target.owner,
    // Enforced only: then a member beyond the allowed ones is drift, which the apply step heals.
    ...(plan.target.dockerGroup !== undefined ? { dockerGroup: plan.target.dockerGroup } : {}),
  };
}

/** Beyond this many seconds between a host's clock and this machine's, the audit warns. */
export const CLOCK_WARN_SECONDS = 60;

/** The warning for a host whose clock is more than CLOCK_WARN_SECONDS off, when it was last inspected. */
export function clockWarning(host: string, observed: Observed | undefined): string | undefined {
  const offset = observed?.clockOffsetSeconds;
  if (typeof offset !== "number" || Math.abs(offset) <= CLOCK_WARN_SECONDS) return undefined;
  const how = offset < 0 ? `${-offset} s behind` : `${offset} s ahead of`;
  return (
    `host ${host}: its clock is ${how} this machine's (inspected by its audit); ` +
    (offset < 0
      ? "a certificate issued less than that long ago is not valid there yet, and the next pulumi up that issues one fails on it"
      : "it takes certificates for expired that long before they are") +
    ". Set its clock (NTP)"
  );
}

/**
 * `f()` for the component `audit`: an error is a pulumi.ResourceError on it with its stack hidden,
 * so that the CLI shows the message under the host's audit instead of an "unhandled exception"
 * with the stack of an apply callback.
 */
function onAudit<T>(audit: pulumi.Resource, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new pulumi.ResourceError((e as Error).message, audit, true);
  }
}

/** plannedState for the component `audit`: files that are not the planned ones are a ResourceError on it (see onAudit). */
export function auditPlannedState(plan: HostPlan, files: FileDigest[], serverCertSha256: string, audit: pulumi.Resource): AuditState {
  return onAudit(audit, () => plannedState(plan, files, serverCertSha256));
}

/** The audit's connection (its stored shape: hostKey "" for none) to a planned host. */
export function auditConnection(c: HostConnection, privateKey: pulumi.Input<string>): HostAuditStateArgs["connection"] {
  return {
    host: c.address,
    port: c.port,
    user: c.user,
    sudo: c.sudo,
    hostKey: c.hostKey ?? "",
    hostKeyAlgorithm: c.hostKeyAlgorithm ?? "",
    privateKey: pulumi.secret(privateKey),
  };
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
 * (`running`, `tlsverify`, `serverCertSha256`, …; `dockerGroup` with security.enforceDockerGroup).
 * The same look at the host gathers the security audit's facts (render/sh/security.sh, and the TLS
 * the port serves): observed only, never drift; `security` judges them, and every failing check is
 * a warning of this component. A refresh stores the observation, and the
 * observation in that same shape as the inputs; so `pulumi preview --refresh` shows drift as a
 * diff naming the host (`audit-NAME-state`) and the file or setting
 * (`[diff: ~/etc/docker/server-key.pem]`; with --diff, `mode: "644" => "400"`), and fails with
 * `--expect-no-changes`. `pulumi up --refresh` heals: DockerHost's upload step stages the files
 * again (a state folder deleted by hand loses them), then its apply step reinstalls what differs and
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
  /** The security checks of the last observation (components/security/checks.ts): the `security.<host>` output. */
  readonly security: pulumi.Output<HostSecurity>;

  constructor(name: string, args: HostAuditArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:host:HostAudit", name, {}, opts);
    const plan = args.plan;
    const expected = pulumi.all([args.files, args.serverCertSha256]).apply(([files, fp]) => auditPlannedState(plan, files, fp, this));
    // One input per file and setting (see above); their values come with DockerHost's files.
    const wanted: Record<string, pulumi.Input<unknown>> = {};
    for (const key of [...SETTINGS, ...plan.files.map((f) => f.path).sort()]) {
      wanted[key] = expected.apply((e) => (key.startsWith("/") ? e.files[key] : e[key as keyof AuditState]));
    }
    const state = new HostAuditState(
      `${name}-state`,
      {
        ...(wanted as HostAuditStateArgs),
        host: plan.name,
        init: plan.init,
        connection: auditConnection(plan.connection, args.sshPrivateKey),
        heal: {
          command: args.applyCommand,
          manifest: args.manifest,
          upload: { command: args.uploadCommand, payload: pulumi.secret(args.uploadPayload) },
        },
        timeoutSeconds: args.timeoutSeconds,
        securityPlan: plan.security,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.observed = state.observed;
    this.drift = pulumi.all([expected, state.observed]).apply(([e, o]) => compareAudit(e, o));
    // A host's clock far from this machine's: certificates look not yet valid, or expired, there.
    state.observed.apply((o) => {
      const warning = clockWarning(plan.name, o);
      if (warning) pulumi.log.warn(warning, this);
    });
    // The security audit: judged from the same observation; a warning per failing check.
    this.security = state.observed.apply((o) => hostSecurity(plan.security, o));
    this.security.apply((s) => {
      for (const w of failingWarnings(plan.name, s)) pulumi.log.warn(w, this);
    });
    this.registerOutputs({ observed: this.observed, security: this.security });
  }
}
