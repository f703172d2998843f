/** The program as the e2e suites run it: a work dir of its own that links to this checkout. */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";
export { programDir } from "../../scripts/lib/workdir";

export const ROOT = path.resolve(__dirname, "..", "..");

/**
 * A suite's teardown: destroys `stack` (when it was made) and removes it, then takes the sandbox
 * down and removes `tmp`, each step whatever the one before it did.
 */
export async function tearDown(stack: Stack | undefined, tmp: string): Promise<void> {
  try {
    try {
      if (stack) await stack.destroy({ color: "never" });
    } finally {
      if (stack) await stack.workspace.removeStack(stack.name, { force: true });
    }
  } finally {
    await sandbox.down();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A project script run as `npm run <script>` runs it (node -r ./register.js from ROOT; the toolchain is already on PATH). */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 10 * 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "node",
      ["-r", "./register.js", path.join("scripts", `${script}.ts`), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A stack of the program in `work` (a programDir), with the sandbox's SSH key (a secret) and its known_hosts for the host keys. */
export async function sandboxStack(name: string, work: string, env: Record<string, string>): Promise<Stack> {
  const stack = await LocalWorkspace.createStack({ stackName: name, workDir: work }, { envVars: env });
  await stack.setConfig("docker-tls:sshPrivateKey", { value: fs.readFileSync(sandbox.CLIENT_KEY, "utf8"), secret: true });
  await stack.setConfig("docker-tls:sshKnownHostsPath", { value: sandbox.KNOWN_HOSTS });
  return stack;
}
