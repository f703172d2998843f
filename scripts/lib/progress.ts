/** Progress of the npm scripts, on stderr: stdout is kept for the lines a user pastes or a program parses. */

/** One line of progress per step of ours (Pulumi prints its own). */
export function step(message: string): void {
  process.stderr.write(`\n==> ${message}\n`);
}
