/**
 * npm run rotate -- --stack NAME (--host NAME | --client NAME | --ca) [--yes] [--dry-run] [--sandbox] [--dir DIR] [--verbose]
 *
 * Forced rotation, without editing the program: a new key and certificate for one host's daemon,
 * for one client, or a new CA (which reissues every server certificate). Pulumi's own replace on
 * the key (scripts/lib/rotation.ts says which), through the Automation API, restricted to that key
 * and what depends on it (`target` + `targetDependents`), so that nothing else in the stack changes:
 *
 * 1. the stack's state (exportStack) gives the key's URN; an unknown host or client is an error
 *    that lists the stack's;
 * 2. a preview with the same replace list, summarised from its engine events: which certificates
 *    are reissued, which hosts restart dockerd, what clients must do;
 * 3. unless --yes, a confirmation on the terminal (`y`; the stack's name for --ca); with no
 *    terminal, an error that says to pass --yes. --dry-run stops after the summary;
 * 4. the update, its output on stderr, then the summary of what was done (stdout). Exit 0, or 1
 *    with Pulumi's error (and what was done before it).
 *
 * The stack is looked for in your backend (PULUMI_BACKEND_URL or `pulumi login`), or with
 * --sandbox in the sandbox's, as for `npm run drift`; --dir is the project (default: this one).
 */
import * as readline from "readline";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { clearDockerEnv } from "../environment";
import { previewError } from "./drift";
import { step } from "./lib/progress";
import {
  confirmation,
  confirmationMode,
  parseUrn,
  planProblem,
  renderSummary,
  rotateArgs,
  rotationUrns,
  StateResource,
  summarize,
} from "./lib/rotation";
import { targetVars } from "./lib/stack";

/** The gist of an Automation API error: its message holds the whole CLI output; keep the diagnostics. */
const gist = (e: unknown) => previewError(String((e as Error).message ?? e));

/** One line read from the terminal; undefined at the end of input (Ctrl-D). */
function ask(prompt: string): Promise<string | undefined> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.once("close", () => resolve(undefined));
    rl.question(prompt, (answer) => {
      resolve(answer);
      rl.close();
    });
  });
}

async function main(): Promise<number> {
  // Pulumi must not see the docker CLI's variables (environment.ts); every child inherits this.
  clearDockerEnv();
  const args = rotateArgs(process.argv.slice(2));
  const mode = confirmationMode(args, process.stdin.isTTY === true);
  let stack: Stack;
  let resources: StateResource[];
  try {
    stack = await LocalWorkspace.selectStack({ stackName: args.stack, workDir: args.dir }, { envVars: targetVars(args) });
    resources = (await stack.exportStack()).deployment?.resources ?? [];
  } catch (e) {
    throw new Error(`cannot read stack ${args.stack}: ${gist(e)}`);
  }
  const urns = rotationUrns(resources, args.target, args.stack);
  const keys = urns.map((u) => parseUrn(u).name).join(", ");
  // The key replaced, and only what depends on it: pending changes elsewhere in the stack wait.
  const options = { replace: urns, target: urns, targetDependents: true, color: "never" as const };

  step(`preview: replacing ${keys} in stack ${args.stack}`);
  const planned: EngineEvent[] = [];
  try {
    await stack.preview({
      ...options,
      onEvent: (e) => planned.push(e),
      onOutput: args.verbose ? (s) => process.stderr.write(s) : undefined,
    });
  } catch (e) {
    throw new Error(`the preview failed, nothing was changed: ${gist(e)}`);
  }
  const problem = planProblem(urns, planned);
  if (problem) throw new Error(`${problem}; nothing was changed`);
  process.stdout.write(renderSummary(summarize(args.target, planned, "planned"), args.stack, "planned"));
  if (args.dryRun) return 0;

  if (mode === "ask") {
    const { prompt, accepts } = confirmation(args.target, args.stack);
    if (!accepts(await ask(prompt))) {
      process.stderr.write("rotate: not confirmed; nothing was changed\n");
      return 1;
    }
  }

  step(`pulumi up: replacing ${keys} in stack ${args.stack}`);
  const done: EngineEvent[] = [];
  let error: string | undefined;
  try {
    await stack.up({ ...options, onEvent: (e) => done.push(e), onOutput: (s) => process.stderr.write(s) });
  } catch (e) {
    error = gist(e);
  }
  process.stdout.write(renderSummary(summarize(args.target, done, "done"), args.stack, error === undefined ? "done" : "failed"));
  if (error !== undefined) {
    process.stderr.write(`rotate: the update failed: ${error}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`rotate: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
