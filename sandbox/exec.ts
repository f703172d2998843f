// Processes and command lines for the sandbox and the npm scripts (scripts/), so that there is
// one place that spawns and one that parses. Every command is an argument array, never a shell
// string, so host names, paths and user data are never re-parsed by a shell.
import { spawn } from "node:child_process";

export interface RunResult {
  /** What the command printed, when it was collected (see RunOptions.stdio). */
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Written to the child's stdin (then closed). Keys travel this way, never as arguments. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Resolve with the exit code instead of throwing when the command fails. */
  allowFail?: boolean;
  /**
   * "pipe" (default): stdout and stderr collected, stdin is `input` or closed at once (like
   * `< /dev/null`). "stdout": only stdout collected, stderr goes to ours (progress and warnings
   * reach the user). "inherit": our terminal, stdin included, so that a command such as `pulumi up`
   * shows its interactive display; nothing is collected and `input` is not used.
   */
  stdio?: "pipe" | "stdout" | "inherit";
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    // With stdio "inherit" the user has already seen the command's output: the message just names it.
    const detail = result.stderr.trim() || result.stdout.trim();
    super(`${cmd} ${args.join(" ")} exited ${result.code}${detail ? `: ${detail}` : ""}`);
  }
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const stdio = opts.stdio ?? "pipe";
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs,
      stdio: stdio === "inherit" ? "inherit" : ["pipe", "pipe", stdio === "stdout" ? "inherit" : "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    // A command that cannot be started at all; "close" follows, but the promise is settled by then.
    child.on("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "ENOENT" ? `command not found: ${cmd}` : `${cmd}: ${e.message}`)),
    );
    child.on("close", (status) => {
      // No status: killed by a signal; 124 (timeout(1)'s code) when we killed it for timeoutMs.
      const result = { stdout, stderr, code: status ?? (child.killed ? 124 : 1) };
      if (result.code !== 0 && !opts.allowFail) reject(new CommandError(cmd, args, result));
      else resolve(result);
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(opts.input ?? "");
  });
}

/** Run and return trimmed stdout. */
export async function out(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout.trim();
}

/** True when the command exits 0. */
export async function ok(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<boolean> {
  return (await run(cmd, args, { ...opts, allowFail: true })).code === 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The `--flag` and `--option value` (or `--option=value`) arguments of a command line. */
export type ParsedArgs<F extends string, O extends string> = { [K in F]?: true } & { [K in O]?: string };

/**
 * Parses a command line of named arguments. Anything not in `flags` or `options` is an error, so
 * that a misspelt flag (say `--sandbx`) stops the command instead of being taken for a value or
 * ignored; so is an option whose value is missing or looks like another option.
 */
export function parseArgs<F extends string = never, O extends string = never>(
  argv: readonly string[],
  spec: { flags?: readonly F[]; options?: readonly O[] },
): ParsedArgs<F, O> {
  const flags: readonly string[] = spec.flags ?? [];
  const options: readonly string[] = spec.options ?? [];
  const parsed: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : "";
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (flags.includes(name) && inline === undefined) parsed[name] = true;
    else if (options.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`);
      parsed[name] = value;
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  return parsed as ParsedArgs<F, O>;
}
