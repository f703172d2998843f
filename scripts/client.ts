/**
 * npm run client -- --stack NAME --client NAME [--sandbox] [--host NAME] [--out DIR] [--context]
 *
 * Writes the client bundle (ca.pem, cert.pem, key.pem; key 0400) from the stack outputs into
 * DIR (default ~/.docker/<stack>; made 0700 if missing, an existing one's mode left alone: see
 * writeBundle), prints the DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH
 * lines for each host (or --host), and with --context creates a docker context per host. The
 * stack is read from your own backend (PULUMI_BACKEND_URL or `pulumi login`); --sandbox reads it
 * from the sandbox's (`npm start`'s): `npm run client -- --stack dev --sandbox --client ci`.
 */
import { defaultBundleDir, exportLines, writeBundle } from "./lib/bundle";
import { parseArgs, run } from "../sandbox/exec";
import { stackOutputs, targetVars } from "./lib/stack";

export interface ClientArgs {
  stack: string;
  client: string;
  host?: string;
  out: string;
  context: boolean;
  sandbox: boolean;
}

/** The command line above; --stack defaults to dev. */
export function clientArgs(argv: string[]): ClientArgs {
  const args = parseArgs(argv, { flags: ["context", "sandbox"], options: ["stack", "client", "host", "out"] });
  const stack = args.stack ?? "dev";
  if (args.client === undefined) throw new Error("--client NAME is required (one of the stack's clients)");
  return {
    stack,
    client: args.client,
    host: args.host,
    out: args.out ?? defaultBundleDir(stack),
    context: args.context === true,
    sandbox: args.sandbox === true,
  };
}

async function main(): Promise<void> {
  const args = clientArgs(process.argv.slice(2));
  const { stack, client, out: dir } = args;
  const outputs = await stackOutputs(stack, targetVars(args));
  writeBundle(outputs, client, dir);
  process.stderr.write(`wrote ${dir}/{ca,cert,key}.pem for client ${client}\n`);

  const hosts = Object.entries(outputs.dockerHosts).filter(([name]) => args.host === undefined || name === args.host);
  if (hosts.length === 0) throw new Error(`host ${JSON.stringify(args.host)} is not in stack ${stack}`);
  for (const [name, h] of hosts) {
    process.stdout.write(`# ${name} (docker ${h.dockerVersion})\n${exportLines(h.dockerHost, dir).join("\n")}\n`);
    if (args.context) {
      const context = `${stack}-${name}`;
      const endpoint = `host=${h.dockerHost},ca=${dir}/ca.pem,cert=${dir}/cert.pem,key=${dir}/key.pem`;
      // Recreated each time so that a changed address or bundle is picked up.
      await run("docker", ["context", "rm", "-f", context], { allowFail: true });
      await run("docker", ["context", "create", context, "--description", `docker-tls ${stack}/${name}`, "--docker", endpoint], {
        stdio: "inherit",
      });
      process.stdout.write(`docker --context ${context} info\n`);
    }
  }
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`client: ${e.message}\n`);
    process.exit(1);
  });
}
