/**
 * npm run drift -- --stack NAME [--sandbox] [--json] [--dir DIR] [--verbose]
 *
 * Whether every host of a stack still has what the stack gave it, for cron or CI. A
 * `pulumi preview --refresh` through the Automation API: the refresh inspects each host (HostAudit,
 * over SSH and over TLS from here), and the audits' engine events are reported, one line per host:
 *
 *   sbx1: clean
 *   sbx2: DRIFT /etc/docker/server-key.pem mode 644 (want 400)
 *   sbx3: UNREACHABLE cannot reach deploy@10.203.0.19:22 over SSH: …
 *   heal with: npm run pulumi -- up --refresh --stack NAME
 *
 * Exit 0 when every host matches, 2 when something drifted (or a host is not deployed yet), 1 on
 * an error: a host that cannot be inspected, or a stack that does not preview. Nothing is changed.
 * --json prints the report as one JSON object instead; --dir is the project (default: this one);
 * --verbose passes Pulumi's own output to stderr. The stack is looked for in your own backend
 * (PULUMI_BACKEND_URL or `pulumi login`, with your passphrase variables), whatever its name;
 * --sandbox uses the sandbox's backend and passphrase instead (`npm start`'s `dev` stack:
 * `npm run drift -- --stack dev --sandbox`), unless PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE
 * are set, which win.
 */
import * as net from "net";
import { DriftItem, HostAuditInputs, Observed, compareAudit, containsUnknown, desiredOf } from "../components/audit/compare";
import {
  AUDIT_TYPE,
  AuditEvent,
  PreviewOptions,
  StackArgs,
  auditsFromEvents,
  previewError,
  previewOptions,
  refreshedAudits,
  runScript,
  stackArgs,
} from "./lib/preview";

// What the audits' events are made of lives in ./lib/preview.ts, shared with npm run audit; the tests know it from here too.
export { AUDIT_TYPE, auditsFromEvents, previewError };
export type { AuditEvent };

/** clean: matches; drift: differs; unreachable: could not be inspected; pending: in the config, not deployed yet. */
export type HostStatus = "clean" | "drift" | "unreachable" | "pending";

export interface HostReport {
  host: string;
  status: HostStatus;
  /** What differs, per file attribute or setting (status drift). */
  drift: DriftItem[];
  /** Why the host could not be inspected (status unreachable). */
  error?: string;
}

export interface DriftReport {
  stack: string;
  status: "clean" | "drift" | "error";
  exitCode: 0 | 1 | 2;
  hosts: HostReport[];
  /** The command that heals, when something drifted. */
  heal?: string;
  /** Why the preview itself failed, if it did. */
  error?: string;
  /** Changes the preview plans to resources other than the audits (a config not applied yet). */
  otherChanges: number;
}

/**
 * One host's status: its last observation (renewed by the refresh) against what the stack last
 * wanted (the outputs of the last `up`; a config not applied yet is not drift of the host).
 */
export function hostReport(a: AuditEvent): HostReport {
  if (!a.outputs) return { host: a.host, status: "pending", drift: [] };
  const observed = a.outputs.observed as Observed | undefined;
  const wanted = desiredOf(a.outputs);
  if (!observed || observed.reachable === false) {
    return { host: a.host, status: "unreachable", drift: [], error: observed?.error ?? "not inspected" };
  }
  if (containsUnknown(wanted)) return { host: a.host, status: "pending", drift: [] };
  const drift = compareAudit(wanted, observed);
  return { host: a.host, status: drift.length ? "drift" : "clean", drift };
}

/** The whole report and its exit code: 1 if anything is an error, else 2 if anything drifted, else 0. */
export function buildReport(stack: string, unsorted: HostReport[], other: number, error?: string): DriftReport {
  const hosts = [...unsorted].sort((a, b) => a.host.localeCompare(b.host));
  const failed = error !== undefined || hosts.some((h) => h.status === "unreachable");
  const drifted = hosts.some((h) => h.status === "drift" || h.status === "pending");
  const report: DriftReport = {
    stack,
    status: failed ? "error" : drifted ? "drift" : "clean",
    exitCode: failed ? 1 : drifted ? 2 : 0,
    hosts,
    otherChanges: other,
  };
  if (drifted) report.heal = `npm run pulumi -- up --refresh --stack ${stack}`;
  if (error !== undefined) report.error = error;
  return report;
}

/** The report for people: a line per host, then what to do. */
export function renderText(r: DriftReport): string {
  const lines = r.hosts.map((h) => {
    switch (h.status) {
      case "clean":
        return `${h.host}: clean`;
      case "drift":
        return `${h.host}: DRIFT ${h.drift.map((d) => d.text).join("; ")}`;
      case "unreachable":
        return `${h.host}: UNREACHABLE ${h.error}`;
      case "pending":
        return `${h.host}: NOT DEPLOYED (in the configuration, not applied yet)`;
    }
  });
  if (r.hosts.length === 0 && r.error === undefined) lines.push(`stack ${r.stack} has no host audits (run pulumi up once)`);
  if (r.otherChanges > 0)
    lines.push(`note: ${r.otherChanges} other resource change(s) pending: the configuration differs from the last pulumi up`);
  if (r.error !== undefined) lines.push(`error: ${r.error}`);
  if (r.heal) lines.push(`heal with: ${r.heal}`);
  return `${lines.join("\n")}\n`;
}

/** Resolves with why HOST:PORT does not accept a TCP connection, or undefined if it does. */
export function tcpUnreachable(host: string, port: number, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (why?: string) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from ${host}:${port} within ${timeoutMs / 1000} s`));
    socket.once("connect", () => done());
    socket.once("error", (e: NodeJS.ErrnoException) => done(`${host}:${port}: ${e.code ?? e.message}`));
  });
}

/** Runs the preview and builds the report. Throws only for a stack that cannot be selected. */
export async function checkDrift(opts: PreviewOptions): Promise<DriftReport> {
  const { audits, otherChanges, error } = await refreshedAudits(opts);
  const hosts = await Promise.all(
    audits.map(async (a) => {
      const r = hostReport(a);
      // A host not deployed yet has had no refresh: at least say whether it can be reached.
      if (r.status === "pending" && a.inputs) {
        // The stored inputs' shape is the contract: HostAudit's state resource's `connection`.
        const c = a.inputs.connection as Partial<HostAuditInputs["connection"]> | undefined;
        const why = c?.host ? await tcpUnreachable(c.host, Number(c.port ?? 22)) : undefined;
        if (why) return { ...r, status: "unreachable" as const, error: `cannot reach ${why} (not deployed yet)` };
      }
      return r;
    }),
  );
  return buildReport(opts.stack, hosts, otherChanges, error);
}

export type DriftArgs = StackArgs;

/** The command line above. */
export const driftArgs = stackArgs;

async function main(): Promise<number> {
  const args = driftArgs(process.argv.slice(2));
  let report: DriftReport;
  try {
    report = await checkDrift(previewOptions(args));
  } catch (e) {
    // The stack could not be selected (no such stack, no backend login, …): still one report.
    report = buildReport(args.stack, [], 0, previewError(String((e as Error).message ?? e)));
  }
  process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  return report.exitCode;
}

if (require.main === module) runScript("drift", main);
