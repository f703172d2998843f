/** The Pulumi CLI for the npm scripts: the project, the sandbox's backend, stack outputs. */
import * as fs from "fs";
import * as path from "path";
import { run } from "../../sandbox/exec";
import type { StackOutputs } from "./bundle";

/** This project: Pulumi.yaml, and the sandbox's state under .state/. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** The local backend and passphrase of the sandbox stack (`dev`): documented in the README. */
const SANDBOX_BACKEND_DIR = path.join(ROOT, ".state", "backend");
export const SANDBOX_BACKEND = `file://${SANDBOX_BACKEND_DIR}`;
export const SANDBOX_PASSPHRASE = "docker-tls-sandbox";

/** Environment for the sandbox stack: its backend and passphrase unless the user set others. */
export function sandboxEnv(): NodeJS.ProcessEnv {
  if (!process.env.PULUMI_BACKEND_URL) fs.mkdirSync(SANDBOX_BACKEND_DIR, { recursive: true });
  return {
    ...process.env,
    PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? SANDBOX_BACKEND,
    PULUMI_CONFIG_PASSPHRASE:
      process.env.PULUMI_CONFIG_PASSPHRASE ?? (process.env.PULUMI_CONFIG_PASSPHRASE_FILE ? undefined : SANDBOX_PASSPHRASE),
  };
}

/** Runs the Pulumi CLI in this project on our terminal (its own display); throws naming the command if it fails. */
export async function pulumi(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await run("pulumi", args, { env, cwd: ROOT, stdio: "inherit" });
}

/** The JSON a Pulumi command prints (`--json`); its stderr reaches the user. */
export async function pulumiJson<T>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return JSON.parse((await run("pulumi", args, { env, cwd: ROOT, stdio: "stdout" })).stdout) as T;
}

/** The stack's outputs, secrets included (they stay in this process). */
export function stackOutputs(stack: string, env: NodeJS.ProcessEnv): Promise<StackOutputs> {
  return pulumiJson<StackOutputs>(["stack", "output", "--json", "--show-secrets", "--stack", stack], env);
}
