/** Progress of the npm scripts, on stderr: stdout is kept for the lines a user pastes or a program parses. */
import type { Logger } from "../../sandbox";

/** One line of progress per step of ours (Pulumi prints its own). */
export function step(message: string): void {
  process.stderr.write(`\n==> ${message}\n`);
}

/** The sandbox's own progress lines (sandbox.up and sandbox.down log one per step). */
export const sandboxProgress: Logger = (line) => process.stderr.write(`${line}\n`);
