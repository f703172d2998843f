/**
 * npm run audit (scripts/audit.ts) without a stack: its report from a preview's audit events, exit
 * codes 0/2/1, the table, and --json's structure, which is the stack output's (hostSecurity of the
 * same observation and plan). The preview itself is shared with npm run drift (scripts/lib/preview.ts).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { Observed } from "../../components/audit/compare";
import { hostSecurity } from "../../components/security/checks";
import { securityPlan } from "../../host/plan";
import { auditedHost, buildAuditReport, renderAuditText } from "../../scripts/audit";
import { AUDIT_TYPE, AuditEvent, auditsFromEvents, stackArgs } from "../../scripts/lib/preview";
import { testHost } from "../support/config";

const plan = securityPlan(testHost());
/** An observation whose facts give every kind of status: a warn (the docker group), unknowns (no SELinux, …). */
const observed = (over: Record<string, unknown> = {}): Observed => ({
  reachable: true,
  running: true,
  listening: true,
  port: 2376,
  tlsverify: true,
  listeners: plan.listeners,
  serverCertSha256: "AB:CD",
  requireClientCert: true,
  security: {
    tools: { getent: true },
    systemdBooted: false,
    group: { exists: true, gid: "999", members: ["eve"], source: "getent", local: ["eve"], primary: [] },
    stat: {},
    socketUnit: {},
    listen: { source: "ss", sockets: [] },
  },
  ...over,
});
const event = (host: string, outputs?: Record<string, unknown>): AuditEvent => ({ host, op: "same", ...(outputs ? { outputs } : {}) });

test("a host's result is hostSecurity of its refreshed observation and its stored plan: what the stack output holds", () => {
  const o = observed();
  expect(auditedHost(event("web1", { host: "web1", securityPlan: plan, observed: o }))).toEqual(hostSecurity(plan, o));
  expect(auditedHost(event("web1")).error).toMatch(/^not deployed yet/);
  expect(auditedHost(event("web1", { host: "web1", observed: o })).error).toMatch(/older version of this program/);
  expect(
    auditedHost(event("web1", { securityPlan: plan, observed: { reachable: false, error: "cannot reach root@web1:22" } })),
  ).toMatchObject({
    checks: [],
    error: "cannot reach root@web1:22",
  });
});

test("exit codes: 0 when nothing warns or fails (unknown is not counted), 2 for a warn or fail, 1 for any error", () => {
  const clean = observed();
  clean.security!.group = { exists: false, members: [], source: "getent", local: [] };
  const cleanHost = event("web1", { securityPlan: plan, observed: clean });
  const r0 = buildAuditReport("prod", [cleanHost]);
  expect(r0.hosts.web1.warn + r0.hosts.web1.fail).toBe(0);
  expect(r0.hosts.web1.unknown).toBeGreaterThan(0);
  expect(r0.exitCode).toBe(0);
  expect(buildAuditReport("prod", [cleanHost, event("web2", { securityPlan: plan, observed: observed() })]).exitCode).toBe(2);
  expect(buildAuditReport("prod", [cleanHost, event("web3", { securityPlan: plan, observed: { reachable: false } })]).exitCode).toBe(1);
  expect(buildAuditReport("prod", [cleanHost], "no stack named prod").exitCode).toBe(1);
});

test("the report's hosts come from the preview's events, in name order; the text is a table per host", () => {
  const ev = (name: string, outputs: Record<string, unknown>): EngineEvent =>
    ({
      sequence: 1,
      timestamp: 0,
      resourcePreEvent: {
        metadata: {
          op: "same",
          urn: `urn:pulumi:prod::docker-tls::${AUDIT_TYPE}::audit-${name}-state`,
          type: AUDIT_TYPE,
          old: { outputs },
          new: {},
        },
      },
    }) as unknown as EngineEvent;
  const { audits } = auditsFromEvents([
    ev("web2", {
      host: "web2",
      securityPlan: plan,
      observed: { reachable: false, error: "cannot reach root@10.0.0.2:22 over SSH: timed out" },
    }),
    ev("web1", { host: "web1", securityPlan: plan, observed: observed() }),
  ]);
  const report = buildAuditReport("prod", audits);
  expect(Object.keys(report.hosts)).toEqual(["web1", "web2"]);
  const text = renderAuditText(report);
  expect(text).toMatch(/^web1: \d+ pass, 1 warn, 0 fail, \d+ unknown\n {2}status +check +CIS +reason\n/);
  expect(text).toMatch(/\n {2}WARN +access\.docker-group +1\.1\.2 +eve can drive dockerd, as root, through its socket/);
  expect(text).toContain("\nweb2: ERROR cannot reach root@10.0.0.2:22 over SSH: timed out\n");
  // --json: the hosts' results alone, as the stack output `security` holds them.
  expect(JSON.parse(JSON.stringify(report.hosts)).web1).toEqual(hostSecurity(plan, observed()));
});

test("its command line is npm run drift's", () => {
  expect(stackArgs(["--stack", "prod", "--json", "--sandbox"])).toMatchObject({ stack: "prod", json: true, sandbox: true, verbose: false });
  expect(() => stackArgs([])).toThrow("--stack NAME is required");
});
