/** The Pulumi CLI for the npm scripts: stack selection and outputs. */
import * as fs from "fs";
import * as path from "path";
import { ROOT, capture } from "./run";
import type { StackOutputs } from "./bundle";

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

/** The stack's outputs, secrets included (they stay in this process). */
export function stackOutputs(stack: string, env: NodeJS.ProcessEnv = process.env): StackOutputs {
  return JSON.parse(capture("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], { env })) as StackOutputs;
}
