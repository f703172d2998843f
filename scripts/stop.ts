/** npm run stop: destroys the `dev` stack (each host back to its original files), then the sandbox. */
import { run, step } from "./lib/run";
import { sandboxEnv } from "./lib/stack";
import { clearDockerEnv } from "../environment";

const STACK = "dev";

function main(): void {
  // Pulumi must not see the docker CLI's variables (environment.ts); every child inherits this.
  clearDockerEnv();
  const env = sandboxEnv();
  step(`pulumi destroy --stack ${STACK}`);
  try {
    run("pulumi", ["destroy", "--yes", "--stack", STACK], { env });
  } catch (e) {
    // Without its hosts the stack cannot be destroyed; its state is then all that is left.
    process.stderr.write(`destroy failed (${(e as Error).message}); removing the stack's state only\n`);
    run("pulumi", ["stack", "rm", "--yes", "--force", "--preserve-config", STACK], { env });
  }
  step("Sandbox down");
  run("ts-node", ["sandbox/cli.ts", "down"]);
}

try {
  main();
} catch (e) {
  process.stderr.write(`stop: ${(e as Error).message}\n`);
  process.exit(1);
}
