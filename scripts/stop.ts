/** npm run stop: destroys the `dev` stack (each host back to its original files), then the sandbox. */
import { step } from "./lib/progress";
import { ROOT, pulumi, sandboxEnv } from "./lib/stack";
import { run } from "../sandbox/exec";
import { clearDockerEnv } from "../environment";

const STACK = "dev";

async function main(): Promise<void> {
  // Pulumi must not see the docker CLI's variables (environment.ts); every child inherits this.
  clearDockerEnv();
  const env = sandboxEnv();
  step(`pulumi destroy --stack ${STACK}`);
  try {
    await pulumi(["destroy", "--yes", "--stack", STACK], env);
  } catch (e) {
    // Without its hosts the stack cannot be destroyed; its state is then all that is left.
    process.stderr.write(`destroy failed (${(e as Error).message}); removing the stack's state only\n`);
    await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", STACK], env);
  }
  step("Sandbox down");
  await run("ts-node", ["sandbox/cli.ts", "down"], { cwd: ROOT, stdio: "inherit" });
}

main().catch((e: Error) => {
  process.stderr.write(`stop: ${e.message}\n`);
  process.exit(1);
});
