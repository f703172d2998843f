import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { shellQuote } from "../render/scripts";

export interface EndpointCheckArgs {
  /** `tcp://ADDRESS:PORT` of the daemon. */
  dockerHost: string;
  /** The CA that signed the daemon's server certificate (the clients' `ca.pem`). */
  caCertPem: pulumi.Input<string>;
  /** A client identity of the program's own (not a user's: revoking users never breaks the check). */
  clientCertPem: pulumi.Input<string>;
  /** Its key; a secret. */
  clientKeyPem: pulumi.Input<string>;
  /** Changes whenever the daemon was reconfigured, so that the version is read again. */
  revision: pulumi.Input<string>;
  /**
   * An output of the host's audit (HostAudit.observed). The docker provider is configured only
   * once it is known: the upstream provider pings the daemon when it is configured, and the engine
   * does not configure a provider whose inputs are unknown. So in a preview where the audit will
   * heal the host (or configure a new one), the check waits for that instead of failing against
   * the broken endpoint, and in the update it pings the healed daemon.
   */
  healed: pulumi.Input<unknown>;
}

/**
 * The version probe (render/node/version-probe.js, read once when this module loads): node runs it
 * from its command line, the credentials come on stdin.
 */
const VERSION_PROBE_JS = fs.readFileSync(path.join(__dirname, "..", "render", "node", "version-probe.js"), "utf8");

/**
 * The daemon's version from the probe's output. Anything else is a pulumi.ResourceError on `check`
 * with its stack hidden, so that the CLI shows the message under the host's check instead of an
 * "unhandled exception" with the stack of an apply callback.
 */
export function probedVersion(stdout: string, dockerHost: string, check: pulumi.Resource): string {
  let version: unknown;
  try {
    version = (JSON.parse(stdout) as { version?: unknown } | null)?.version;
  } catch {
    // Not JSON: reported below like any other unexpected output.
  }
  if (typeof version !== "string" || version === "") {
    throw new pulumi.ResourceError(
      `${dockerHost}: the version probe printed ${JSON.stringify(stdout.slice(0, 200))}, not the daemon's version`,
      check,
      true,
    );
  }
  return version;
}

/**
 * Proves that a host's secured endpoint works, from the machine running Pulumi:
 * - a `@pulumi/docker` provider for the endpoint, and a `getNetwork` call through it on every
 *   run (preview and up), so `pulumi up` fails when the endpoint stops working;
 * - the daemon's version, read over TLS after each reconfiguration, for the stack outputs.
 */
export class EndpointCheck extends pulumi.ComponentResource {
  /** The daemon's version, e.g. `20.10.24+dfsg1`. */
  readonly dockerVersion: pulumi.Output<string>;
  /** The id of the daemon's `host` network, as read through the TLS provider. */
  readonly networkId: pulumi.Output<string>;

  constructor(name: string, args: EndpointCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:host:EndpointCheck", name, {}, opts);

    const provider = new docker.Provider(
      `${name}-provider`,
      {
        host: pulumi.all([args.dockerHost, args.healed]).apply(([host]) => host),
        caMaterial: args.caCertPem,
        certMaterial: args.clientCertPem,
        keyMaterial: pulumi.secret(args.clientKeyPem),
      },
      { parent: this },
    );
    // `host` exists on every Linux daemon, whatever its network setup.
    const network = docker.getNetworkOutput({ name: "host" }, { provider, parent: this, dependsOn: opts?.dependsOn });
    this.networkId = network.id;

    const probe = new command.local.Command(
      `${name}-version`,
      {
        create: `node -e ${shellQuote(VERSION_PROBE_JS)}`,
        stdin: pulumi.secret(
          pulumi.jsonStringify({ host: args.dockerHost, ca: args.caCertPem, cert: args.clientCertPem, key: args.clientKeyPem }),
        ),
        triggers: [args.revision],
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.dockerVersion = pulumi.unsecret(probe.stdout).apply((stdout) => probedVersion(stdout, args.dockerHost, this));

    this.registerOutputs({ dockerVersion: this.dockerVersion, networkId: this.networkId });
  }
}
