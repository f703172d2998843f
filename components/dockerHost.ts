import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { HostConfig } from "../config";
import { FileDigest, HostConnection, HostPlan, fileDigests, renderHostFiles } from "../host/plan";
import * as scripts from "../render/scripts";

/** The command provider's connection to a planned host. */
export function commandConnection(c: HostConnection, privateKey: pulumi.Input<string>): command.types.input.remote.ConnectionArgs {
  return {
    host: c.address,
    port: c.port,
    user: c.user,
    privateKey: pulumi.secret(privateKey),
    hostKey: c.hostKey,
    // A host that is down fails the run in about a minute, not after the default ten dials. The
    // command provider dials dialErrorLimit + 1 times, with a back-off between, and
    // perDialTimeout bounds only the TCP connect of each dial (not the SSH handshake).
    dialErrorLimit: 4,
    perDialTimeout: 15,
  };
}

export interface DockerHostArgs {
  /** The host, validated (see config.ts): its daemon settings, for the files' contents. */
  host: HostConfig;
  /** The host's plan (host/plan.ts): connection, files, script target (with its restart wait). */
  plan: HostPlan;
  /** SSH private key for `host.user`; a secret. */
  sshPrivateKey: pulumi.Input<string>;
  /** The host's server certificate (PEM). */
  serverCertPem: pulumi.Input<string>;
  /** The host's server key (PEM); a secret. */
  serverKeyPem: pulumi.Input<string>;
  /** Bundle of the issuers of the clients the daemon accepts (its `tlscacert`). */
  clientCaBundle: pulumi.Input<string>;
  /**
   * When the youngest client certificate the daemon must accept became valid: the upload step
   * refuses a host whose clock is behind it (render/sh/upload.sh), before anything is written.
   */
  clientsValidFrom: pulumi.Input<scripts.ValidFrom>;
}

/**
 * Configures dockerd on one host over SSH so that it listens with mutual TLS.
 *
 * Three remote commands, so that secrets and logs never meet:
 * - `${name}-probe` reads the host's original daemon.json, /etc/default/docker, unit ExecStart
 *   (from the unit's files, our drop-in left out) and the --config-file dockerd was started with,
 *   once; our files are rendered from them, so the host's own keys are kept.
 * - `${name}-upload` sends the files (the server key among them) on stdin into a 0700 staging
 *   folder; its output is never logged.
 * - `${name}-apply` gets only the list of content hashes on stdin: it backs up the host's files
 *   on the first run, installs the staged files, and restarts dockerd only if a file changed,
 *   rolling back if dockerd does not come back. Its update runs only when a hash changes, so an
 *   unchanged stack runs no command. Deleting it restores the host's original files.
 */
export class DockerHost extends pulumi.ComponentResource {
  /** `tcp://ADDRESS:PORT`, for DOCKER_HOST. */
  readonly dockerHost: string;
  /** The apply step, for resources that need the daemon configured first. */
  readonly applied: command.remote.Command;
  /** The hashes of the files in place: changes whenever the daemon was reconfigured. */
  readonly manifest: pulumi.Output<string>;
  /** The managed files as installed (path, mode, owner, SHA-256): what HostAudit expects. */
  readonly files: pulumi.Output<FileDigest[]>;
  /** The apply step's command line (no secret in it; the manifest goes on its stdin): HostAudit heals with it. */
  readonly applyCommand: string;
  /** The upload step's command line (no secret in it): HostAudit stages the files with it before healing. */
  readonly uploadCommand: string;
  /** What the upload step reads on stdin: every file, the server key among them; a secret. */
  readonly uploadPayload: pulumi.Output<string>;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:host:DockerHost", name, {}, opts);
    const h = args.host;
    const plan = args.plan;
    const connection = commandConnection(plan.connection, args.sshPrivateKey);
    const target = plan.target;
    const run = (script: string) => scripts.remoteCommand(script, plan.connection.sudo);

    /** A remote step of this host: its connection, no previous output in its environment, a child of this. */
    const step = (
      suffix: string,
      args: Omit<command.remote.CommandArgs, "connection" | "addPreviousOutputInEnv">,
      dependsOn: pulumi.Resource[] = [],
    ) =>
      new command.remote.Command(`${name}-${suffix}`, { ...args, connection, addPreviousOutputInEnv: false }, { parent: this, dependsOn });

    const probe = step("probe", { create: run(scripts.renderProbeScript(target)), logging: "stderr" });

    const files: pulumi.Output<scripts.HostFile[]> = pulumi
      .all([probe.stdout, args.serverCertPem, args.serverKeyPem, args.clientCaBundle])
      .apply(([probed, serverCertPem, serverKeyPem, clientCaBundle]) =>
        renderHostFiles(h, plan.files, { probe: scripts.parseProbe(probed), serverCertPem, serverKeyPem, clientCaBundle }),
      );

    this.uploadPayload = pulumi.secret(
      pulumi.all([files, args.clientsValidFrom]).apply(([rendered, validFrom]) => scripts.renderUploadPayload(rendered, validFrom)),
    );
    this.uploadCommand = run(scripts.renderUploadScript(target));
    this.applyCommand = run(scripts.renderApplyScript(target));
    const upload = step("upload", {
      create: this.uploadCommand,
      delete: run(scripts.renderUnstageScript(target)),
      // The key is in here: keep it a secret in state and never log the command's output.
      stdin: this.uploadPayload,
      logging: "none",
      // A successful apply leaves no staged file behind: whenever the apply step runs again (its
      // command changed, e.g. with this program), stage the files again first. Its SHA-256, not
      // the command's 12 KB: the state keeps triggers twice, and rewrites them at every checkpoint.
      triggers: [scripts.sha256(this.applyCommand)],
    });

    this.manifest = pulumi.unsecret(files.apply(scripts.renderManifest));
    this.files = pulumi.unsecret(files.apply((rendered) => fileDigests(plan.files, rendered)));
    this.applied = step(
      "apply",
      { create: this.applyCommand, delete: run(scripts.renderRestoreScript(target)), stdin: this.manifest, logging: "stdoutAndStderr" },
      [upload],
    );

    this.dockerHost = plan.dockerHost;
    this.registerOutputs({ dockerHost: this.dockerHost, manifest: this.manifest });
  }
}
