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
 *   sbx4: clean; certificate expires 2027-01-01T00:00:00Z (in 12 days)
 *   heal with: npm run pulumi -- up --refresh --stack NAME
 *   renew with: npm run rotate -- --stack NAME --host sbx4
 *
 * A host line also says when the certificate its TLS port serves expires, if that is within the
 * stack's pki.warnBeforeHours (read from the stack's config; config.ts's default when unset).
 * Exit 0 when every host matches, 2 when something drifted (or a host is not deployed yet, or a
 * served certificate expires within that window), 1 on an error: a host that cannot be inspected,
 * or a stack that does not preview. Nothing is changed.
 * --json prints the report as one JSON object instead; --dir is the project (default: this one);
 * --verbose passes Pulumi's own output to stderr. The stack is looked for in your own backend
 * (PULUMI_BACKEND_URL or `pulumi login`, with your passphrase variables), whatever its name;
 * --sandbox uses the sandbox's backend and passphrase instead (`npm start`'s `dev` stack:
 * `npm run drift -- --stack dev --sandbox`), unless PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE
 * are set, which win.
 */
import * as net from "net";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { DriftItem, HostAuditInputs, Observed, compareAudit, containsUnknown, desiredOf } from "../components/audit/compare";
import { ExpiryState, expiryOf, rotateCommand } from "../components/expiry";
import { fingerprintSha256 } from "../components/fingerprint";
import { PkiConfig, pkiSettings } from "../config";
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

/** The certificate a host's TLS port serves, against the stack's warning and renew-before windows. */
export interface ServedCertificate {
  /** Its notAfter (ISO 8601, UTC, to the second). */
  notAfter: string;
  /** ok; warn: within pki.warnBeforeHours; renew: within pki.renewBeforeHours too; expired (components/expiry.ts). */
  state: ExpiryState;
  /** How far off notAfter is: `in 12 days`, `3 days ago`. */
  left: string;
  /** From when `pulumi up` reissues it (notAfter - pki.renewBeforeHours). */
  renewFrom: string;
  /** It is the certificate the stack gave the host (its fingerprint): the stack can renew it; another one is drift, which the heal replaces. */
  ours: boolean;
  /** It is ours, and the preview plans to reissue it (the tls provider's earlyRenewalHours): `pulumi up` renews it now. */
  reissued: boolean;
}

export interface HostReport {
  host: string;
  status: HostStatus;
  /** What differs, per file attribute or setting (status drift). */
  drift: DriftItem[];
  /** Why the host could not be inspected (status unreachable). */
  error?: string;
  /** The certificate its TLS port serves, when the last observation saw one. */
  certificate?: ServedCertificate;
}

export interface DriftReport {
  stack: string;
  status: "clean" | "drift" | "error";
  exitCode: 0 | 1 | 2;
  hosts: HostReport[];
  /** The command that heals, when something drifted. */
  heal?: string;
  /** The commands that reissue the stack's served certificates that expire within pki.warnBeforeHours, when any does. */
  renew?: string[];
  /** Why the preview itself failed, if it did. */
  error?: string;
  /** Changes the preview plans to resources other than the audits (a config not applied yet). */
  otherChanges: number;
}

type Metadata = NonNullable<EngineEvent["resourcePreEvent"]>["metadata"];

/** A certificate resource of the stack, as the preview's events show it. */
export interface StackCertificate {
  urn: string;
  /** SHA-256 fingerprint of its certificate (`AB:CD:…`), as the audits want it served. */
  sha256: string;
  /** Its validityEndTime, as the state holds it. */
  notAfter?: string;
  /** The preview plans to reissue it (a replacement). */
  reissued: boolean;
}

const LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert";

/**
 * The stack's issued certificates in a preview's events, by fingerprint: so that a host's served
 * certificate, when it is the one the stack gave it, leads to whether the preview already reissues
 * it (the tls provider's earlyRenewalHours), and to its notAfter in the state.
 */
export function certificatesFromEvents(events: EngineEvent[]): StackCertificate[] {
  const byUrn = new Map<string, StackCertificate>();
  for (const e of events) {
    const m: Metadata | undefined = e.resourcePreEvent?.metadata;
    if (!m || m.type !== LOCALLY_SIGNED_CERT) continue;
    const outputs = m.old?.outputs as Record<string, unknown> | undefined;
    const pem = outputs?.certPem;
    const known = byUrn.get(m.urn);
    const reissued = (known?.reissued ?? false) || ["replace", "create-replacement", "delete-replaced"].includes(m.op);
    if (known) {
      known.reissued = reissued;
      continue;
    }
    if (typeof pem !== "string") continue;
    try {
      const c: StackCertificate = { urn: m.urn, sha256: fingerprintSha256(pem), reissued };
      if (typeof outputs?.validityEndTime === "string") c.notAfter = outputs.validityEndTime;
      byUrn.set(m.urn, c);
    } catch {
      // not a certificate Node can read: no host serves it
    }
  }
  return [...byUrn.values()];
}

/** What a host's report needs beyond its audit: the time, the stack's PKI windows, its certificates. */
export interface ReportContext {
  now: Date;
  pki: Pick<PkiConfig, "warnBeforeHours" | "renewBeforeHours">;
  certificates: StackCertificate[];
}

/**
 * The certificate that `observed` saw served, against the windows of `ctx`; undefined when none was
 * seen. An audit whose state still holds an older provider (the one it was last created or updated
 * with: it runs that one) observes no notAfter; when the probe saw the stack's own certificate (its
 * fingerprint), that certificate's notAfter in the state is the same.
 */
export function servedCertificate(observed: Observed, wantedSha256: unknown, ctx: ReportContext): ServedCertificate | undefined {
  const ours = !!observed.serverCertSha256 && observed.serverCertSha256 === wantedSha256;
  const resource = ours ? ctx.certificates.find((c) => c.sha256 === wantedSha256) : undefined;
  const notAfter = observed.serverCertNotAfter || resource?.notAfter;
  if (!notAfter) return undefined;
  const e = expiryOf(notAfter, ctx.now, ctx.pki.warnBeforeHours, ctx.pki.renewBeforeHours);
  if (e === undefined) return undefined;
  return { ...e, ours, reissued: resource?.reissued ?? false };
}

/**
 * One host's status: its last observation (renewed by the refresh) against what the stack last
 * wanted (the outputs of the last `up`; a config not applied yet is not drift of the host). With
 * `ctx`, also the certificate its TLS port serves.
 */
export function hostReport(a: AuditEvent, ctx?: ReportContext): HostReport {
  if (!a.outputs) return { host: a.host, status: "pending", drift: [] };
  const observed = a.outputs.observed as Observed | undefined;
  const wanted = desiredOf(a.outputs);
  const certificate = observed && ctx ? servedCertificate(observed, wanted.serverCertSha256, ctx) : undefined;
  const withCertificate = (r: HostReport): HostReport => (certificate ? { ...r, certificate } : r);
  if (!observed || observed.reachable === false) {
    return withCertificate({ host: a.host, status: "unreachable", drift: [], error: observed?.error ?? "not inspected" });
  }
  if (containsUnknown(wanted)) return { host: a.host, status: "pending", drift: [] };
  const drift = compareAudit(wanted, observed);
  return withCertificate({ host: a.host, status: drift.length ? "drift" : "clean", drift });
}

/** Whether a host serves a certificate within the warning window (or expired). */
const expiring = (h: HostReport) => h.certificate !== undefined && h.certificate.state !== "ok";

/**
 * The commands that renew the stack's own certificates that `hosts` serve and that expire within
 * the warning window: `pulumi up` for those the preview reissues (inside the renew-before window),
 * `npm run rotate` for each of the others (inside the warning window only, or a provider that
 * planned no renewal). A host serving another certificate is drift: the heal is its command.
 */
export function renewCommands(stack: string, hosts: HostReport[]): string[] {
  const due = hosts.filter((h) => expiring(h) && h.certificate?.ours);
  const up = due.some((h) => h.certificate?.reissued) ? [`npm run pulumi -- up --stack ${stack}`] : [];
  return [...up, ...due.filter((h) => !h.certificate?.reissued).map((h) => rotateCommand(stack, { host: h.host }))];
}

/**
 * The whole report and its exit code: 1 if anything is an error, else 2 if anything drifted or
 * serves a certificate within the warning window, else 0. `status` says whether the hosts match.
 */
export function buildReport(stack: string, unsorted: HostReport[], other: number, error?: string): DriftReport {
  const hosts = [...unsorted].sort((a, b) => a.host.localeCompare(b.host));
  const failed = error !== undefined || hosts.some((h) => h.status === "unreachable");
  const drifted = hosts.some((h) => h.status === "drift" || h.status === "pending");
  const renew = renewCommands(stack, hosts);
  const report: DriftReport = {
    stack,
    status: failed ? "error" : drifted ? "drift" : "clean",
    exitCode: failed ? 1 : drifted || hosts.some(expiring) ? 2 : 0,
    hosts,
    otherChanges: other,
  };
  if (drifted) report.heal = `npm run pulumi -- up --refresh --stack ${stack}`;
  if (renew.length > 0) report.renew = renew;
  if (error !== undefined) report.error = error;
  return report;
}

/** What a host line adds for a served certificate within the warning window: `; certificate expires … (in 12 days)`. */
function expiryNote(h: HostReport): string {
  const c = h.certificate;
  if (c === undefined || c.state === "ok") return "";
  return `; certificate ${c.state === "expired" ? "expired" : "expires"} ${c.notAfter} (${c.left})`;
}

/** The report for people: a line per host, then what to do. */
export function renderText(r: DriftReport): string {
  const lines = r.hosts.map((h) => {
    switch (h.status) {
      case "clean":
        return `${h.host}: clean${expiryNote(h)}`;
      case "drift":
        return `${h.host}: DRIFT ${h.drift.map((d) => d.text).join("; ")}${expiryNote(h)}`;
      case "unreachable":
        return `${h.host}: UNREACHABLE ${h.error}${expiryNote(h)}`;
      case "pending":
        return `${h.host}: NOT DEPLOYED (in the configuration, not applied yet)`;
    }
  });
  if (r.hosts.length === 0 && r.error === undefined) lines.push(`stack ${r.stack} has no host audits (run pulumi up once)`);
  if (r.otherChanges > 0)
    lines.push(`note: ${r.otherChanges} other resource change(s) pending: the configuration differs from the last pulumi up`);
  if (r.error !== undefined) lines.push(`error: ${r.error}`);
  if (r.heal) lines.push(`heal with: ${r.heal}`);
  for (const command of r.renew ?? []) lines.push(`renew with: ${command}`);
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

/**
 * The PKI settings of a stack's `docker-tls:pki` config value (the JSON text `pulumi config get`
 * gives, or undefined when unset): config.ts's defaults for what it does not set, or for a value
 * that is not a valid `pki` (the preview then reports the configuration error).
 */
export function pkiOfConfigValue(value: string | undefined): PkiConfig {
  if (value === undefined) return pkiSettings(undefined);
  try {
    return pkiSettings(JSON.parse(value));
  } catch {
    return pkiSettings(undefined);
  }
}

/** Runs the preview and builds the report. Throws only for a stack that cannot be selected. */
export async function checkDrift(opts: PreviewOptions): Promise<DriftReport> {
  const { audits, otherChanges, error, events, pkiValue } = await refreshedAudits({ ...opts, readPki: true });
  const ctx: ReportContext = { now: new Date(), pki: pkiOfConfigValue(pkiValue), certificates: certificatesFromEvents(events) };
  const hosts = await Promise.all(
    audits.map(async (a) => {
      const r = hostReport(a, ctx);
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
