/**
 * What npm run drift and npm run audit share: their command line (--stack, --dir, --json,
 * --verbose, --sandbox), and the refreshing preview through the Automation API whose engine events
 * hold each host's audit as the refresh left it (its last observation, and what the stack wanted
 * then). Nothing is changed by either.
 */
import * as path from "path";
import { EngineEvent, LocalWorkspace } from "@pulumi/pulumi/automation";
import { HOST_AUDIT_STATE_TYPE, containsUnknown } from "../../components/audit/compare";
import { clearDockerEnv } from "../../environment";
import { parseArgs } from "../../sandbox/exec";
import { ROOT, targetVars } from "./stack";

/** The type token of HostAudit's state resource (an alias of HOST_AUDIT_STATE_TYPE, for the tests). */
export const AUDIT_TYPE = HOST_AUDIT_STATE_TYPE;

/** What a preview's events say about one host's audit. */
export interface AuditEvent {
  host: string;
  /** The step planned for the audit: same, replace (drift), create (not deployed), … */
  op: string;
  /** The audit's outputs after the refresh (for a resource in the state). */
  outputs?: Record<string, unknown>;
  /** The audit's inputs in the program (for a resource not in the state yet). */
  inputs?: Record<string, unknown>;
}

type Metadata = NonNullable<EngineEvent["resourcePreEvent"]>["metadata"];

/**
 * A planned change of an endpoint check's docker provider whose inputs are not known yet: its
 * configuration waits for its host's audit (see EndpointCheck), so a preview that heals a host
 * (or deploys one) plans it too. It follows from that change and is not another one.
 */
function waitsForAudit(m: Metadata): boolean {
  return m.type === "pulumi:providers:docker" && m.urn.includes("dockertls:host:EndpointCheck$") && containsUnknown(m.new?.inputs);
}

/** The audits in a preview's engine events, one per host, and how many other resources would change. */
export function auditsFromEvents(events: EngineEvent[]): { audits: AuditEvent[]; otherChanges: number } {
  const byUrn = new Map<string, AuditEvent>();
  let otherChanges = 0;
  for (const e of events) {
    const m: Metadata | undefined = e.resourcePreEvent?.metadata;
    if (!m) continue;
    if (m.type !== AUDIT_TYPE) {
      if (!["same", "refresh", "read"].includes(m.op) && !waitsForAudit(m)) otherChanges++;
      continue;
    }
    // The refresh step's own event, and the old half of a replacement, add nothing.
    if (["refresh", "delete-replaced", "discard", "delete"].includes(m.op)) continue;
    const outputs = m.old ? (m.old.outputs as Record<string, unknown>) : undefined;
    const inputs = m.new?.inputs as Record<string, unknown> | undefined;
    const host = String(outputs?.host ?? inputs?.host ?? m.urn.split("::").pop());
    byUrn.set(m.urn, { host, op: m.op, outputs, inputs });
  }
  return { audits: [...byUrn.values()], otherChanges };
}

/** The gist of a failed preview: the Automation API's message holds the whole CLI output; keep its diagnostics. */
export function previewError(message: string): string {
  const lines = message
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .map((l) => l.trim());
  const start = lines.findIndex((l) => l === "Diagnostics:");
  const diagnostics = lines
    .slice(start + 1)
    .filter((l) => l !== "" && !/^at /.test(l) && !/^Resources:|^\d+ (unchanged|errored)|^pulumi:pulumi:Stack \(/.test(l));
  const picked = start >= 0 ? diagnostics.slice(0, 4) : lines.filter((l) => /error/i.test(l)).slice(0, 4);
  return [...new Set(picked.map((l) => l.replace(/^error:\s*/, "")))].join(" / ") || message.slice(0, 500);
}

/** What the refreshing preview found: the audits, how many other resources would change, and why it failed, if it did. */
export interface RefreshedAudits {
  audits: AuditEvent[];
  otherChanges: number;
  error?: string;
  /** All the preview's engine events (drift finds the stack's certificates in them). */
  events: EngineEvent[];
  /** The stack's `docker-tls:pki` config value (JSON text) with readPki; undefined when unset. */
  pkiValue?: string;
}

/** Which stack, where, and what to do with Pulumi's own output. */
export interface PreviewOptions {
  stack: string;
  dir: string;
  envVars?: Record<string, string>;
  onOutput?: (s: string) => void;
  /** Also read the stack's `docker-tls:pki` (drift dates certificates with it; one more `pulumi config get`). */
  readPki?: boolean;
}

/**
 * `pulumi preview --refresh` of the stack: the refresh inspects every host (HostAudit). Throws only
 * for a stack that cannot be selected; a preview that fails is `error`, with the audits seen before.
 */
export async function refreshedAudits(opts: PreviewOptions): Promise<RefreshedAudits> {
  const stack = await LocalWorkspace.selectStack({ stackName: opts.stack, workDir: opts.dir }, { envVars: opts.envVars });
  // One key, not getAllConfig: that would decrypt every secret (the SSH key) into this process.
  // A key that is not set is an error of `pulumi config get`: undefined then.
  const pkiValue = opts.readPki
    ? await stack.getConfig("docker-tls:pki").then(
        (v) => v.value,
        () => undefined,
      )
    : undefined;
  const events: EngineEvent[] = [];
  let error: string | undefined;
  try {
    await stack.preview({ refresh: true, onEvent: (e) => events.push(e), onOutput: opts.onOutput, color: "never" });
  } catch (e) {
    error = previewError(String((e as Error).message ?? e));
  }
  return { ...auditsFromEvents(events), events, pkiValue, ...(error !== undefined ? { error } : {}) };
}

/** The command line of npm run drift and npm run audit. */
export interface StackArgs {
  stack: string;
  dir: string;
  json: boolean;
  verbose: boolean;
  sandbox: boolean;
}

/** `--stack NAME [--sandbox] [--json] [--dir DIR] [--verbose]`. */
export function stackArgs(argv: string[]): StackArgs {
  const args = parseArgs(argv, { flags: ["json", "verbose", "sandbox"], options: ["stack", "dir"] });
  if (!args.stack) throw new Error("--stack NAME is required");
  return {
    stack: args.stack,
    dir: args.dir !== undefined ? path.resolve(args.dir) : ROOT,
    json: args.json === true,
    verbose: args.verbose === true,
    sandbox: args.sandbox === true,
  };
}

/**
 * The preview's options for a command line: the backend's variables (targetVars: --sandbox), and
 * Pulumi's output on stderr with --verbose. The docker CLI's variables are cleared first: Pulumi
 * must not see them (environment.ts), and every child inherits that.
 */
export function previewOptions(args: StackArgs): PreviewOptions {
  clearDockerEnv();
  return {
    stack: args.stack,
    dir: args.dir,
    envVars: targetVars(args),
    onOutput: args.verbose ? (s) => process.stderr.write(s) : undefined,
  };
}

/** Runs a script's main and exits with its code; an exception is exit 1, named after the script. */
export function runScript(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${name}: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
