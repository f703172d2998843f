// Thin wrappers over child_process.execFile: every command is an argument array, never a
// shell string, so host names, paths and user data are never re-parsed by a shell.
import { execFile } from "node:child_process";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Written to the child's stdin (then closed). Keys travel this way, never as arguments. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Resolve with the exit code instead of throwing when the command fails. */
  allowFail?: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${cmd} ${args.join(" ")} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 0,
        maxBuffer: 64 * 1024 * 1024,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          if (typeof e.code === "number") code = e.code;
          else if (e.code === "ENOENT") return reject(new Error(`command not found: ${cmd}`));
          else code = e.killed ? 124 : 1;
        }
        const result = { stdout, stderr, code };
        if (code !== 0 && !opts.allowFail) reject(new CommandError(cmd, args, result));
        else resolve(result);
      },
    );
    // Without input the child gets an immediately closed stdin, like `< /dev/null`.
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
