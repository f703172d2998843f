/**
 * npm start: the whole product on this machine, on the built-in local default.
 *   1. the toolchain (built or reused by toolchain/run.sh before this runs);
 *   2. two sandbox hosts: sbx1 (systemd, root) and sbx2 (no systemd, DOCKER_OPTS, via sudo),
 *      through the sandbox library (what `npm run sandbox -- up --hosts 2 --kind mixed` does);
 *   3. `pulumi up` of the `dev` stack on the sandbox's local file:// backend (passphrase in the README);
 *   4. the real docker CLI, with the `ci` client bundle from the outputs, talks TLS to each host;
 *   5. the lines to paste to do the same.
 * npm run stop undoes it. The other scripts use that backend only when asked, with --sandbox:
 * `npm run client -- --stack dev --sandbox --client ci`, `npm run drift -- --stack dev --sandbox`.
 */
import { defaultBundleDir, dockerEnv, exportLines, writeBundle } from "./lib/bundle";
import { sandboxProgress, step } from "./lib/progress";
import { pulumi, pulumiJson, stackOutputs, targetVars } from "./lib/stack";
import { out } from "../sandbox/exec";
import * as sandbox from "../sandbox";
import { clearDockerEnv } from "../environment";

const STACK = "dev";
const CLIENT = "ci";

async function main(): Promise<void> {
  // Pulumi must not see the docker CLI's variables (environment.ts); every child inherits this.
  clearDockerEnv();
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    throw new Error("the sandbox needs Linux and root (it creates network namespaces and containers); see README");
  }

  step("Sandbox hosts: sbx1 (systemd) and sbx2 (plain, DOCKER_OPTS)");
  const wereUp = (await sandbox.status()).hosts.filter((h) => h.running).length >= 2;
  process.stderr.write(`${sandbox.formatStatus(await sandbox.up({ hosts: 2, kind: "mixed", log: sandboxProgress }))}\n`);

  // The sandbox's own stack: always on the sandbox's backend (or PULUMI_BACKEND_URL, if set).
  const vars = targetVars({ sandbox: true });
  step(`Stack ${STACK} on ${vars.PULUMI_BACKEND_URL ?? process.env.PULUMI_BACKEND_URL}`);
  const stacks = await pulumiJson<{ name: string; resourceCount?: number }[]>(["stack", "ls", "--json"], vars);
  const existing = stacks.find((s) => s.name === STACK);
  if (existing && (existing.resourceCount ?? 0) > 0 && !wereUp) {
    // Fresh hosts: the state of the earlier sandbox describes hosts that no longer exist.
    process.stderr.write(`the sandbox hosts are new: dropping the state of the earlier ${STACK} stack (its CA included)\n`);
    await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", STACK], vars);
  }
  await pulumi(["stack", "select", "--create", STACK], vars);

  step(`pulumi up --stack ${STACK}`);
  await pulumi(["up", "--yes", "--stack", STACK], vars);

  step(`Client bundle for ${CLIENT} from the stack outputs`);
  const outputs = await stackOutputs(STACK, vars);
  const dir = defaultBundleDir(STACK);
  writeBundle(outputs, CLIENT, dir);
  process.stderr.write(`wrote ${dir}/{ca,cert,key}.pem\n`);

  const lines: string[] = [];
  for (const [name, h] of Object.entries(outputs.dockerHosts)) {
    step(`docker over TLS to ${name} (${h.dockerHost})`);
    const server = await out(
      "docker",
      ["version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}}, {{.Server.Os}}/{{.Server.Arch}})"],
      { env: dockerEnv(h.dockerHost, dir), stdio: "stdout" },
    );
    process.stderr.write(`${name}: docker ${server}; server certificate SHA-256 ${h.serverCertSha256}\n`);
    lines.push(`# ${name}`, ...exportLines(h.dockerHost, dir));
  }

  step("Done. To use a host from this shell:");
  process.stdout.write(`${lines.join("\n")}\ndocker info\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`start: ${e.message}\n`);
  process.exit(1);
});
