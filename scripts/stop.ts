/**
 * npm run stop: destroys the `dev` stack (each host back to its original files) on the sandbox's
 * backend, as npm start made it, then the sandbox.
 */
import { sandboxProgress, step } from "./lib/progress";
import { pulumi, targetVars } from "./lib/stack";
import * as sandbox from "../sandbox";
import { clearDockerEnv } from "../environment";

const STACK = "dev";

async function main(): Promise<void> {
  // Pulumi must not see the docker CLI's variables (environment.ts); every child inherits this.
  clearDockerEnv();
  // The sandbox's own stack: always on the sandbox's backend (or PULUMI_BACKEND_URL, if set).
  const vars = targetVars({ sandbox: true });
  step(`pulumi destroy --stack ${STACK}`);
  try {
    await pulumi(["destroy", "--yes", "--stack", STACK], vars);
  } catch (e) {
    // Without its hosts the stack cannot be destroyed; its state is then all that is left.
    process.stderr.write(`destroy failed (${(e as Error).message}); removing the stack's state only\n`);
    await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", STACK], vars);
  }
  step("Sandbox down");
  await sandbox.down({ log: sandboxProgress });
}

main().catch((e: Error) => {
  process.stderr.write(`stop: ${e.message}\n`);
  process.exit(1);
});
