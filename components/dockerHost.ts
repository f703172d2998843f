import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { HostConfig } from "../config";
import {
  DAEMON_JSON_PATH,
  DEFAULT_DOCKER_PATH,
  DROP_IN_PATH,
  TLS_PATHS,
  renderDaemonJson,
  renderDefaultDocker,
  renderSystemdDropIn,
} from "../render/daemon";
import {
  HostFile,
  ScriptTarget,
  parseOriginalDaemonJson,
  parseProbe,
  remoteCommand,
  renderApplyScript,
  renderManifest,
  renderProbeScript,
  renderRestoreScript,
  renderUnstageScript,
  renderUploadPayload,
  renderUploadScript,
} from "../render/scripts";

export interface DockerHostArgs {
  /** The host, validated (see config.ts). */
  host: HostConfig;
  /** SSH private key for `host.user`; a secret. */
  sshPrivateKey: pulumi.Input<string>;
  /** The host's server certificate (PEM). */
  serverCertPem: pulumi.Input<string>;
  /** The host's server key (PEM); a secret. */
  serverKeyPem: pulumi.Input<string>;
  /** Bundle of the issuers of the clients the daemon accepts (its `tlscacert`). */
  clientCaBundle: pulumi.Input<string>;
  /** Seconds to wait for dockerd to come back after a restart before rolling back (config.ts: RESTART_WAIT_SECONDS). */
  waitSeconds: number;
}

/**
 * Configures dockerd on one host over SSH so that it listens with mutual TLS.
 *
 * Three remote commands, so that secrets and logs never meet:
 * - `${name}-probe` reads the host's original daemon.json, /etc/default/docker and unit
 *   ExecStart once; our files are rendered from them, so the host's own keys are kept.
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
  /** The apply step's command line (no secret in it; the manifest goes on its stdin): HostAudit heals with it. */
  readonly applyCommand: string;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:host:DockerHost", name, {}, opts);
    const h = args.host;
    const connection: command.types.input.remote.ConnectionArgs = {
      host: h.address,
      port: h.port,
      user: h.user,
      privateKey: pulumi.secret(args.sshPrivateKey),
      hostKey: h.hostKey,
      // A host that is down fails the run in about a minute, not after the default ten dials. The
      // command provider dials dialErrorLimit + 1 times, with a back-off between, and
      // perDialTimeout bounds only the TCP connect of each dial (not the SSH handshake).
      dialErrorLimit: 4,
      perDialTimeout: 15,
    };
    const target: ScriptTarget = {
      host: h.name,
      init: h.init,
      restartCommand: h.restartCommand,
      port: h.daemon.port,
      waitSeconds: args.waitSeconds,
    };
    const run = (script: string) => remoteCommand(script, h.sudo);

    const probe = new command.remote.Command(
      `${name}-probe`,
      { connection, create: run(renderProbeScript(target)), logging: "stderr", addPreviousOutputInEnv: false },
      { parent: this },
    );

    const files: pulumi.Output<HostFile[]> = pulumi
      .all([probe.stdout, args.serverCertPem, args.serverKeyPem, args.clientCaBundle])
      .apply(([probed, serverCert, serverKey, bundle]) => {
        const original = parseProbe(probed);
        const daemonJson = parseOriginalDaemonJson(h.name, original.daemonJson);
        const settings: HostFile[] = [{ path: DAEMON_JSON_PATH, mode: "0644", content: renderDaemonJson(daemonJson, h.daemon, h.init) }];
        if (h.init === "systemd") settings.push({ path: DROP_IN_PATH, mode: "0644", content: renderSystemdDropIn(original.execStart) });
        if (h.init === "sysv")
          settings.push({ path: DEFAULT_DOCKER_PATH, mode: "0644", content: renderDefaultDocker(original.defaultDocker ?? "", h.daemon) });
        return [
          { path: TLS_PATHS.clientCaBundle, mode: "0444", content: bundle },
          { path: TLS_PATHS.serverCert, mode: "0444", content: serverCert },
          { path: TLS_PATHS.serverKey, mode: "0400", content: serverKey },
          ...settings,
        ];
      });

    const upload = new command.remote.Command(
      `${name}-upload`,
      {
        connection,
        create: run(renderUploadScript(target)),
        delete: run(renderUnstageScript(target)),
        // The key is in here: keep it a secret in state and never log the command's output.
        stdin: pulumi.secret(files.apply(renderUploadPayload)),
        logging: "none",
        addPreviousOutputInEnv: false,
      },
      { parent: this },
    );

    this.manifest = pulumi.unsecret(files.apply(renderManifest));
    this.applyCommand = run(renderApplyScript(target));
    this.applied = new command.remote.Command(
      `${name}-apply`,
      {
        connection,
        create: this.applyCommand,
        delete: run(renderRestoreScript(target)),
        stdin: this.manifest,
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: [upload] },
    );

    this.dockerHost = `tcp://${h.address.includes(":") ? `[${h.address}]` : h.address}:${h.daemon.port}`;
    this.registerOutputs({ dockerHost: this.dockerHost, manifest: this.manifest });
  }
}
