/** npm run stop: destroys the `dev` stack (each host back to its original files), then the sandbox. */
import { sandboxProgress, step } from "./lib/progress";
import { pulumi, sandboxEnv } from "./lib/stack";
import * as sandbox from "../sandbox";
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
  await sandbox.down({ log: sandboxProgress });
}

main().catch((e: Error) => {
  process.stderr.write(`stop: ${e.message}\n`);
  process.exit(1);
});
