/**
 * npm run audit -- --stack NAME [--sandbox] [--json] [--dir DIR] [--verbose]
 *
 * The security posture of every host of a stack, for people, cron or CI: the same refreshing
 * preview as npm run drift (scripts/lib/preview.ts), whose refresh inspects each host through its
 * HostAudit (the security facts included); each host's refreshed observation is judged by
 * components/security/checks.ts against what its last `up` wanted (the audit's stored
 * securityPlan), exactly as the program judges it for the `security` stack output. A table per
 * host:
 *
 *   sbx1: 24 pass, 2 warn, 1 fail, 2 unknown
 *     status   check                 CIS         reason
 *     FAIL     access.socket         3.15, 3.16  mode 666: any local user can drive dockerd, …
 *
 * Exit 0 when no check is a warn or a fail (unknown is shown, not counted), 2 when one is, 1 on an
 * error: a host that cannot be inspected or is not deployed yet, an audit without a security plan
 * (last updated by an older version of this program: run pulumi up), or a stack that does not
 * preview. --json prints the hosts' results as one JSON object, host -> {pass, warn, fail, unknown,
 * failing, checks}: the structure of the stack output `security` (a host in error has `error` and
 * no checks); an error of the stack itself goes to stderr. Nothing is changed.
 */
import type { Observed } from "../components/audit/compare";
import { HostSecurity, hostSecurity, summarize } from "../components/security/checks";
import type { SecurityPlan } from "../host/plan";
import { AuditEvent, previewError, previewOptions, refreshedAudits, runScript, stackArgs } from "./lib/preview";

export interface AuditReport {
  stack: string;
  exitCode: 0 | 1 | 2;
  /** Per host, as the stack output `security` has it. */
  hosts: Record<string, HostSecurity>;
  /** Why the stack could not be previewed, if it could not. */
  error?: string;
}

/** One host's security from its audit's refreshed state. */
export function auditedHost(a: AuditEvent): HostSecurity {
  const none = summarize([]);
  if (!a.outputs) return { ...none, error: "not deployed yet (in the configuration, not applied): run pulumi up" };
  const plan = a.outputs.securityPlan as SecurityPlan | undefined;
  if (!plan)
    return { ...none, error: "its audit was last updated by an older version of this program, without a security plan: run pulumi up" };
  return hostSecurity(plan, a.outputs.observed as Observed | undefined);
}

/** The report and its exit code: 1 for any error, else 2 for any warn or fail, else 0. */
export function buildAuditReport(stack: string, audits: AuditEvent[], error?: string): AuditReport {
  const hosts = Object.fromEntries(audits.map((a) => [a.host, auditedHost(a)] as const).sort(([a], [b]) => a.localeCompare(b)));
  const all = Object.values(hosts);
  const failed = error !== undefined || all.some((h) => h.error !== undefined);
  const flagged = all.some((h) => h.warn > 0 || h.fail > 0);
  return { stack, exitCode: failed ? 1 : flagged ? 2 : 0, hosts, ...(error !== undefined ? { error } : {}) };
}

/** Left-aligned columns, two spaces apart. */
function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  "));
}

/** The report for people: per host, its counts and a table of its checks; then what went wrong. */
export function renderAuditText(r: AuditReport): string {
  const lines: string[] = [];
  for (const [host, s] of Object.entries(r.hosts)) {
    if (s.error !== undefined) {
      lines.push(`${host}: ERROR ${s.error}`, "");
      continue;
    }
    lines.push(`${host}: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail, ${s.unknown} unknown`);
    const rows = [
      ["status", "check", "CIS", "reason"],
      ...s.checks.map((c) => [c.status === "pass" ? "pass" : c.status.toUpperCase(), c.id, c.cis ?? "", c.reason]),
    ];
    lines.push(...columns(rows).map((l) => `  ${l}`), "");
  }
  if (Object.keys(r.hosts).length === 0 && r.error === undefined) lines.push(`stack ${r.stack} has no host audits (run pulumi up once)`);
  if (r.error !== undefined) lines.push(`error: ${r.error}`);
  return `${lines.join("\n").replace(/\n+$/, "")}\n`;
}

async function main(): Promise<number> {
  const args = stackArgs(process.argv.slice(2));
  let report: AuditReport;
  try {
    const { audits, error } = await refreshedAudits(previewOptions(args));
    report = buildAuditReport(args.stack, audits, error);
  } catch (e) {
    // The stack could not be selected (no such stack, no backend login, …).
    report = buildAuditReport(args.stack, [], previewError(String((e as Error).message ?? e)));
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report.hosts, null, 2)}\n`);
    if (report.error !== undefined) process.stderr.write(`audit: ${report.error}\n`);
  } else {
    process.stdout.write(renderAuditText(report));
  }
  return report.exitCode;
}

if (require.main === module) runScript("audit", main);
