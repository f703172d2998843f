/** npm run bench's arithmetic: phases and step kinds from stamped engine events, and the Markdown table. */
import { Measure, StampedEvent, breakdown, markdown, stepKind } from "../../scripts/bench";

const urn = (type: string, name: string) => `urn:pulumi:b::docker-tls::${type}::${name}`;
const pre = (at: number, type: string, name: string, op = "create"): StampedEvent => ({
  at,
  event: { resourcePreEvent: { metadata: { op, type, urn: urn(type, name) } } },
});
const done = (at: number, type: string, name: string, op = "create"): StampedEvent => ({
  at,
  event: { resOutputsEvent: { metadata: { op, type, urn: urn(type, name) } } },
});

test("step kinds: plugins, certificates, each SSH step by its name, audits, endpoint checks, and the components", () => {
  const kind = (type: string, name: string) => stepKind({ op: "create", type, urn: urn(type, name) });
  expect(kind("pulumi:providers:tls", "default")).toBe("plugin start: tls");
  expect(kind("tls:index/locallySignedCert:LocallySignedCert", "server-sbx1-cert")).toBe("keys and certificates (tls)");
  expect(kind("command:remote:Command", "host-sbx1-apply")).toBe("ssh: apply");
  expect(kind("pulumi-nodejs:dynamic:Resource$dockertls:host:HostAuditState", "audit-sbx1-state")).toBe("audit (ssh inspect, TLS check)");
  expect(kind("command:local:Command", "check-sbx1-version")).toBe("endpoint check (docker over TLS)");
  expect(kind("dockertls:host:DockerHost", "host-sbx1")).toBe("components");
});

test("phases: CLI start, language host, program load, steps, the end; components and the stack are not steps", () => {
  const tls = "tls:index/privateKey:PrivateKey";
  const ssh = "command:remote:Command";
  const b = breakdown("up", 1, {
    wallS: 10,
    events: [
      { at: 500, event: { preludeEvent: {} } },
      pre(1500, "pulumi:pulumi:Stack", "docker-tls-b"),
      pre(5500, tls, "ca-key"),
      done(5700, tls, "ca-key"),
      pre(6000, ssh, "host-sbx1-apply"),
      done(9000, ssh, "host-sbx1-apply"),
      done(9500, "pulumi:pulumi:Stack", "docker-tls-b"),
    ],
  });
  expect(b.phases).toEqual({
    "CLI start until the engine's first event": 0.5,
    "language host start, until the program registers its stack": 1,
    "program load (compile, imports) until its first resource": 4,
    "first resource until the last step ends": 4,
    "after the last step (summary, state written, exit)": 0.5,
  });
  expect(b.steps).toEqual({
    "keys and certificates (tls)": { count: 1, sumS: 0.2, maxS: 0.2 },
    "ssh: apply": { count: 1, sumS: 3, maxS: 3 },
  });
});

test("the table: one column per fleet size, one row per operation, the ping gap where polled", () => {
  const m = (op: string, wallS: number, extra: Partial<Measure> = {}): Measure => ({
    op,
    wallS,
    cpuS: wallS / 2,
    peakRssMb: 100,
    remoteSteps: 3,
    restarts: 1,
    maxRestartsPerHost: 1,
    changed: 5,
    ...extra,
  });
  const table = markdown(
    [
      { hosts: 1, resources: 31, measures: [m("preview", 6), m("rotate", 9, { pingGapMs: { sbx1: 1800 } })] },
      { hosts: 4, resources: 70, measures: [m("preview", 8), m("rotate", 12, { pingGapMs: { sbx1: 1700, sbx2: 90 } })] },
    ],
    "a machine",
  ).split("\n");
  expect(table[2]).toBe("| operation | 1 host (31 resources) | 4 hosts (70 resources) |");
  expect(table[4]).toBe("| preview | 6 / 3 s, 3 remote, 1 (1) restarts, 100 MB | 8 / 4 s, 3 remote, 1 (1) restarts, 100 MB |");
  expect(table[5]).toContain("/_ping gap ≤ 1700 ms |");
  expect(table[5]).toContain("/_ping gap ≤ 1800 ms |");
});
