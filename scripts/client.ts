/**
 * npm run client -- --stack NAME --client NAME [--host NAME] [--out DIR] [--context]
 *
 * Writes the client bundle (ca.pem, cert.pem, key.pem; key 0400) from the stack outputs into
 * DIR (default ~/.docker/<stack>), prints the DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH
 * lines for each host (or --host), and with --context creates a docker context per host.
 */
import { defaultBundleDir, exportLines, writeBundle } from "./lib/bundle";
import { parseArgs, run } from "./lib/run";
import { sandboxEnv, stackOutputs } from "./lib/stack";

function main(): void {
  const args = parseArgs(process.argv.slice(2), ["context"]);
  const stack = typeof args.stack === "string" ? args.stack : "dev";
  const client = args.client;
  if (typeof client !== "string") throw new Error("--client NAME is required (one of the stack's clients)");
  const dir = typeof args.out === "string" ? args.out : defaultBundleDir(stack);

  const env = stack === "dev" ? sandboxEnv() : process.env;
  const outputs = stackOutputs(stack, env);
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
      run("sh", ["-c", 'docker context rm -f "$1" >/dev/null 2>&1; exit 0', "sh", context]);
      run("docker", ["context", "create", context, "--description", `docker-tls ${stack}/${name}`, "--docker", endpoint]);
      process.stdout.write(`docker --context ${context} info\n`);
    }
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`client: ${(e as Error).message}\n`);
  process.exit(1);
}
