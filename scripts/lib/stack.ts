/** The Pulumi CLI for the npm scripts: the project, which backend (the user's or the sandbox's), stack outputs. */
import * as fs from "fs";
import * as path from "path";
import { run } from "../../sandbox/exec";
import type { StackOutputs } from "./bundle";

/** This project: Pulumi.yaml, and the sandbox's state under .state/. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** The sandbox's local backend and passphrase (`npm start`, `--sandbox`): documented in the README. */
const SANDBOX_BACKEND_DIR = path.join(ROOT, ".state", "backend");
export const SANDBOX_BACKEND = `file://${SANDBOX_BACKEND_DIR}`;
export const SANDBOX_PASSPHRASE = "docker-tls-sandbox";

/**
 * The variables that point Pulumi at the sandbox: its backend and passphrase, each unless the
 * user set their own in `env` (PULUMI_BACKEND_URL; PULUMI_CONFIG_PASSPHRASE or _FILE), which wins.
 */
export function sandboxVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  if (env.PULUMI_BACKEND_URL === undefined) vars.PULUMI_BACKEND_URL = SANDBOX_BACKEND;
  if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE) vars.PULUMI_CONFIG_PASSPHRASE = SANDBOX_PASSPHRASE;
  return vars;
}

/**
 * What a script adds to the environment of its Pulumi commands. The sandbox's variables only when
 * asked (`--sandbox`, and always for npm start / npm run stop); otherwise nothing: the user's own
 * backend (PULUMI_BACKEND_URL or `pulumi login`) and passphrase, whatever the stack is called, so
 * that a real stack named `dev` is never looked for in .state/backend.
 */
export function targetVars(target: { sandbox: boolean }, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!target.sandbox) return {};
  const vars = sandboxVars(env);
  // A file:// backend must exist before Pulumi opens it.
  if (vars.PULUMI_BACKEND_URL === SANDBOX_BACKEND) fs.mkdirSync(SANDBOX_BACKEND_DIR, { recursive: true });
  return vars;
}

/**
 * Runs the Pulumi CLI in this project on our terminal (its own display), with `vars` (targetVars)
 * over our environment; throws naming the command if it fails.
 */
export async function pulumi(args: string[], vars: Record<string, string>): Promise<void> {
  await run("pulumi", args, { env: { ...process.env, ...vars }, cwd: ROOT, stdio: "inherit" });
}

/** The JSON a Pulumi command prints (`--json`); its stderr reaches the user. */
export async function pulumiJson<T>(args: string[], vars: Record<string, string>): Promise<T> {
  return JSON.parse((await run("pulumi", args, { env: { ...process.env, ...vars }, cwd: ROOT, stdio: "stdout" })).stdout) as T;
}

/** The stack's outputs, secrets included (they stay in this process). */
export function stackOutputs(stack: string, vars: Record<string, string>): Promise<StackOutputs> {
  return pulumiJson<StackOutputs>(["stack", "output", "--json", "--show-secrets", "--stack", stack], vars);
}
