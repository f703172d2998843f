/**
 * Drift detection for real: the Pulumi engine and plugins of the toolchain, the Automation API with
 * a file:// backend in a temp dir, two sandbox hosts (sbx1 with systemd as root, sbx2 without
 * systemd through sudo), and `npm run drift` as a separate process.
 *
 * One stack, cases in order. Each drift is made by hand on one host, then: `drift` exits 2 and
 * names that host alone, `preview --refresh --expect-no-changes` fails naming its audit and the
 * file or setting, `up --refresh` heals it with exactly one dockerd start there and none on the
 * other host (counted from dockerd's own log), and the stack is clean again.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";
import { TestHost, allStarts, onHost, restarts } from "../support/hosts";
import { programDir, runScript, sandboxStack, tearDown } from "../support/program";
import { isSecretInput } from "../support/mocks";
import type { DriftReport } from "../../scripts/drift";

const STACK = "drift";
const PASSPHRASE = "e2e-drift";

let tmp: string;
let work: string;
let stack: Stack;
let hosts: TestHost[];
let env: Record<string, string>;

// ---------------------------------------------------------------------------------------------
// Helpers

/** `npm run drift -- --stack drift --dir WORK [--json]` (as npm runs it: the toolchain is already on PATH). */
function drift(json: boolean): Promise<{ code: number; stdout: string; stderr: string; report?: DriftReport }> {
  return runScript("drift", ["--stack", STACK, "--dir", work, ...(json ? ["--json"] : [])], env, 5 * 60_000).then((r) => ({
    ...r,
    report: json && r.stdout.trim() ? (JSON.parse(r.stdout) as DriftReport) : undefined,
  }));
}

/** The host lines of a drift report as `name: status [drift keys]`. */
function summary(r: DriftReport | undefined): Record<string, string> {
  return Object.fromEntries((r?.hosts ?? []).map((h) => [h.host, [h.status, ...h.drift.map((d) => d.key)].join(" ")]));
}

/** preview --refresh --expect-no-changes: undefined when it passes, else the CLI's output. */
async function previewExpectingNoChanges(): Promise<string | undefined> {
  try {
    await stack.preview({ refresh: true, expectNoChanges: true, color: "never" });
    return undefined;
  } catch (e) {
    return String((e as Error).message);
  }
}

/** `up --refresh`; the resources it changed (not same, not refresh), as `op name`. */
async function upRefresh(): Promise<{ result: string; ops: string[] }> {
  const ops: string[] = [];
  const r = await stack.up({
    refresh: true,
    color: "never",
    onEvent: (e: EngineEvent) => {
      const m = e.resOutputsEvent?.metadata;
      if (m && m.op !== "same" && m.op !== "refresh") ops.push(`${m.op} ${m.urn.split("::").pop()}`);
    },
  });
  return { result: r.summary.result, ops: [...new Set(ops)].sort() };
}

/** Waits (bounded) until dockerd answers on its unix socket after a restart by hand, so the start is logged. */
const WAIT_DOCKERD = `i=0; while [ $i -lt 120 ]; do
  docker -H unix:///var/run/docker.sock info >/dev/null 2>&1 && { sleep 1; exit 0; }
  sleep 0.25; i=$((i + 1))
done; echo "dockerd did not come back" >&2; exit 1`;

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-drift-"));
  const status = await sandbox.up({ hosts: 2, kind: "mixed" });
  hosts = status.hosts.slice(0, 2).map((h) => ({ name: h.name, address: h.address, kind: h.kind as TestHost["kind"] }));
  expect(hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(["sbx1:systemd", "sbx2:plain"]);

  work = path.join(tmp, "program");
  programDir(work);
  fs.mkdirSync(path.join(tmp, "state"));
  env = { PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };

  stack = await sandboxStack(STACK, work, env);
  await configure();
});

const BASE_HOSTS = () => [
  { name: "sbx1", address: hosts[0].address, init: "systemd" },
  { name: "sbx2", address: hosts[1].address, user: sandbox.SUDO_USER, init: "sysv" },
];

async function configure(extra: Record<string, unknown>[] = []): Promise<void> {
  await stack.setAllConfig({
    "docker-tls:hosts": { value: JSON.stringify([...BASE_HOSTS(), ...extra]) },
    "docker-tls:clients": { value: JSON.stringify([{ name: "ci" }]) },
  });
}

afterAll(() => tearDown(stack, tmp));

// ---------------------------------------------------------------------------------------------

test("1. up: every host gets an audit; clean: drift exits 0 and preview --refresh --expect-no-changes passes", async () => {
  // A preview from nothing (every input unknown) plans the audits without failing.
  const first = await stack.preview({ color: "never" });
  expect(first.changeSummary.create).toBeGreaterThan(0);
  const up = await stack.up({ color: "never" });
  expect(up.summary.result).toBe("succeeded");
  const res = (await stack.exportStack()).deployment.resources as { type: string; urn: string }[];
  const audits = res.filter((r) => r.type === "pulumi-nodejs:dynamic/dockertls:HostAuditState").map((r) => r.urn.split("::").pop());
  expect(audits.sort()).toEqual(["audit-sbx1-state", "audit-sbx2-state"]);

  const t = Date.now();
  const clean = await drift(false);
  expect({ code: clean.code, stdout: clean.stdout, stderr: clean.stderr }).toEqual({
    code: 0,
    stdout: "sbx1: clean\nsbx2: clean\n",
    stderr: expect.any(String),
  });
  console.log(`drift on a clean stack: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  expect(await previewExpectingNoChanges()).toBeUndefined();
});

interface Case {
  title: string;
  host: 0 | 1;
  /** Done by hand on the host, as root. */
  breakIt: string;
  /** The drift keys the report names, in order. */
  keys: string[];
  /** A piece of the report's text for the host. */
  text: RegExp;
  /** Checked on the host after the heal. */
  healed: string;
  healedOut: RegExp;
}

const DROP_IN = "/etc/systemd/system/docker.service.d/docker-tls.conf";

const CASES: Case[] = [
  {
    title: "a key changed in daemon.json (sbx2)",
    host: 1,
    breakIt: `sed -i 's/"live-restore": true/"live-restore": false/' /etc/docker/daemon.json && grep -q '"live-restore": false' /etc/docker/daemon.json`,
    keys: ['["/etc/docker/daemon.json"].sha256'],
    text: /^sbx2: DRIFT \/etc\/docker\/daemon\.json content changed \(sha256 [0-9a-f]{23}…, want [0-9a-f]{23}…\)$/m,
    healed: `grep -c '"live-restore": true' /etc/docker/daemon.json`,
    healedOut: /^1$/,
  },
  {
    title: "the server certificate replaced by another valid one, dockerd restarted on it (sbx1)",
    host: 0,
    breakIt: `cd /tmp && openssl req -new -x509 -key /etc/docker/server-key.pem -subj /CN=sbx1 -days 2 \\
  -addext subjectAltName=IP:10.203.0.11 -out other-cert.pem 2>/dev/null
install -m 0444 -o root -g root other-cert.pem /etc/docker/server-cert.pem
systemctl restart docker.service
${WAIT_DOCKERD}`,
    keys: ['["/etc/docker/server-cert.pem"].sha256', "serverCertSha256"],
    text: /^sbx1: DRIFT \/etc\/docker\/server-cert\.pem content changed .*; port 2376 serves certificate ([0-9A-F]{2}:){7}[0-9A-F]{2}… \(want/m,
    healed: "openssl x509 -in /etc/docker/server-cert.pem -noout -subject -issuer",
    healedOut: /issuer=.*docker-tls CA/,
  },
  {
    title: "server-key.pem made 0644 (sbx2)",
    host: 1,
    breakIt: "chmod 0644 /etc/docker/server-key.pem",
    keys: ['["/etc/docker/server-key.pem"].mode'],
    text: /^sbx2: DRIFT \/etc\/docker\/server-key\.pem mode 644 \(want 400\)$/m,
    healed: "stat -c '%a %U:%G' /etc/docker/server-key.pem",
    healedOut: /^400 root:root$/,
  },
  {
    // dockerd cannot run on the stock unit's `-H fd://` while daemon.json has `hosts`: it stays down.
    title: "the drop-in removed and dockerd restarted without it (sbx1)",
    host: 0,
    breakIt: `rm -f ${DROP_IN}; systemctl daemon-reload; systemctl restart docker.service || true
i=0; while [ $i -lt 40 ] && [ "$(systemctl show -p ActiveState --value docker.service)" = active ]; do sleep 0.25; i=$((i + 1)); done`,
    keys: [`[${JSON.stringify(DROP_IN)}].sha256`, "running"],
    text: new RegExp(`^sbx1: DRIFT ${DROP_IN.replace(/[./]/g, "\\$&")} missing; dockerd not running$`, "m"),
    healed: `test -f ${DROP_IN} && systemctl is-active docker.service`,
    healedOut: /^active$/,
  },
  {
    title: "dockerd stopped (sbx1)",
    host: 0,
    breakIt: "systemctl stop docker.service",
    keys: ["running"],
    text: /^sbx1: DRIFT dockerd not running$/m,
    healed: "systemctl is-active docker.service",
    healedOut: /^active$/,
  },
  {
    title: "DOCKER_OPTS without TLS, dockerd restarted without TLS (sbx2)",
    host: 1,
    breakIt: `sed -i 's|^DOCKER_OPTS=.*|DOCKER_OPTS="-H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376"|' /etc/default/docker
service docker restart >/dev/null 2>&1
${WAIT_DOCKERD}`,
    keys: ['["/etc/default/docker"].sha256', "tlsverify", "tlscacert", "tlscert", "tlskey", "serverCertSha256", "requireClientCert"],
    text: /^sbx2: DRIFT \/etc\/default\/docker content changed .*dockerd tlsverify false \(want true\).*port 2376 serves no TLS certificate.*port 2376 does not demand a client certificate$/m,
    healed: "grep -c -- '--tlsverify' /etc/default/docker",
    healedOut: /^1$/,
  },
];

describe.each(CASES.map((c, i) => [`${i + 2}. ${c.title}`, c] as const))("%s", (_title, c) => {
  test("reported for that host alone, healed by up --refresh with one restart there and none elsewhere", async () => {
    const host = hosts[c.host];
    const other = hosts[1 - c.host];
    await onHost(host, c.breakIt);
    const starts = await allStarts(hosts);

    // npm run drift: exit 2, this host drifted with exactly these keys, the other clean.
    const report = await drift(true);
    expect({ code: report.code, hosts: summary(report.report) }).toEqual({
      code: 2,
      hosts: { [host.name]: ["drift", ...c.keys].join(" "), [other.name]: "clean" },
    });
    expect(report.report?.heal).toBe(`npm run pulumi -- up --refresh --stack ${STACK}`);
    const text = await drift(false);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(c.text);
    expect(text.stdout).toContain(`${other.name}: clean\n`);
    expect(text.stdout).toMatch(new RegExp(`^heal with: npm run pulumi -- up --refresh --stack ${STACK}$`, "m"));

    // preview --refresh --expect-no-changes fails; only this host's audit has a diff, naming the file or setting
    // (and its endpoint check's provider, whose configuration waits for the heal).
    const failed = await previewExpectingNoChanges();
    expect(failed).toBeDefined();
    const diffLines = (failed ?? "").split("\n").filter((l) => l.includes("[diff:"));
    expect(diffLines.filter((l) => l.includes(`audit-${host.name}-state`)).length).toBeGreaterThan(0);
    for (const l of diffLines) expect(l).toMatch(new RegExp(`audit-${host.name}-state|check-${host.name}-provider .*\\[diff: ~host\\]`));
    const firstKey = c.keys[0].startsWith("[") ? (JSON.parse(c.keys[0].slice(1, c.keys[0].indexOf("]"))) as string) : c.keys[0];
    expect(diffLines.join("\n")).toContain(firstKey);

    // up --refresh heals this host: its audit is replaced, nothing else changes; one start here, none there.
    const healed = await upRefresh();
    expect(healed.result).toBe("succeeded");
    expect(healed.ops.map((o) => o.split(" ")[1])).toEqual(healed.ops.map(() => `audit-${host.name}-state`));
    expect(healed.ops.length).toBeGreaterThan(0);
    expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ [host.name]: 1, [other.name]: 0 });
    expect((await onHost(host, c.healed)).trim()).toMatch(c.healedOut);

    // Clean again.
    expect(await previewExpectingNoChanges()).toBeUndefined();
  });
});

test("9. a host that cannot be reached is reported as unreachable (exit 1), not as drift", async () => {
  // (a) A host of the stack whose address no longer answers: the state's audit points at an unused
  // sandbox address, as if the host had gone away. (b) A third host entry at that address.
  const saved = await stack.exportStack();
  const edited = JSON.parse(JSON.stringify(saved)) as typeof saved;
  const audit = (edited.deployment.resources as { urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[]).find(
    (r) => r.urn.endsWith("::audit-sbx2-state"),
  );
  expect(audit).toBeDefined();
  for (const props of [audit!.inputs, audit!.outputs]) (props.connection as Record<string, unknown>).host = "10.203.0.19";
  await stack.importStack(edited);
  try {
    const r = await drift(true);
    expect(r.code).toBe(1);
    expect(summary(r.report)).toEqual({ sbx1: "clean", sbx2: "unreachable" });
    expect(r.report?.hosts[1].error).toMatch(/^cannot reach deploy@10\.203\.0\.19:22 over SSH: /);
    expect(r.report?.heal).toBeUndefined();
    const text = await drift(false);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^sbx2: UNREACHABLE cannot reach deploy@10\.203\.0\.19:22 over SSH: .+$/m);
    const failed = await previewExpectingNoChanges();
    const diffLines = (failed ?? "").split("\n").filter((l) => l.includes("[diff:"));
    expect(diffLines.filter((l) => /audit-sbx2-state .*\[diff: .*reachable\]/.test(l)).length).toBeGreaterThan(0);
    // Besides the audit, only sbx2's check provider, whose configuration waits for the audit.
    for (const l of diffLines) expect(l).toMatch(/audit-sbx2-state .*\[diff: .*reachable\]|check-sbx2-provider .*\[diff: ~host\]/);
  } finally {
    await stack.importStack(saved);
  }

  // Pinned like the others (sshKnownHostsPath has no key for it): sbx1's key will do, nothing answers there.
  const hostKey = fs
    .readFileSync(sandbox.KNOWN_HOSTS, "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[0].split(",").includes(hosts[0].address));
  await configure([{ name: "sbx3", address: "10.203.0.19", port: 22, hostKey: hostKey!.slice(1, 3).join(" ") }]);
  try {
    const r = await drift(true);
    expect({ code: r.code, error: r.report?.error }).toEqual({ code: 1, error: undefined });
    expect(summary(r.report)).toEqual({ sbx1: "clean", sbx2: "clean", sbx3: "unreachable" });
    expect(r.report?.hosts[2].error).toMatch(/^cannot reach 10\.203\.0\.19:22: .+ \(not deployed yet\)$/);
  } finally {
    await configure();
  }
  expect((await drift(true)).code).toBe(0);
});

test("10. the SSH key stays secret in the state; the audits hold no private key in plaintext", async () => {
  // The export shows secrets in plaintext (the Automation API exports with --show-secrets): it says which are secret.
  const exported = await stack.exportStack();
  type Res = { urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  const audits = (exported.deployment.resources as Res[]).filter((r) => r.urn.includes("HostAuditState"));
  expect(audits).toHaveLength(2);
  for (const a of audits) {
    for (const props of [a.inputs, a.outputs]) {
      expect(isSecretInput((props.connection as Record<string, unknown>).privateKey)).toBe(true);
    }
    expect(String(a.inputs.__provider)).not.toMatch(/PRIVATE KEY/);
  }
  // The state on disk: encrypted, after refreshes and heals.
  const sshKey = fs.readFileSync(sandbox.CLIENT_KEY, "utf8");
  const needles = sshKey.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
  expect(needles.length).toBeGreaterThan(0);
  const files = (fs.readdirSync(path.join(tmp, "state"), { recursive: true }) as string[])
    .map((f) => path.join(tmp, "state", f))
    .filter((f) => fs.statSync(f).isFile());
  const checkpoint = files.find((f) => /stacks\/docker-tls\/drift\.json$/.test(f));
  expect(checkpoint).toBeDefined();
  expect(fs.readFileSync(checkpoint!, "utf8")).toMatch(
    /"privateKey":\s*\{\s*"4dabf18193072939515e22adb298388d":\s*"1b47061264138c4ac30d75fd1eb44270",\s*"ciphertext"/,
  );
  for (const f of files) {
    const text = fs.readFileSync(f, "latin1");
    expect({ f, plaintextKey: /PRIVATE KEY-----/.test(text) }).toEqual({ f, plaintextKey: false });
    for (const n of needles) expect({ f, leaks: text.includes(n) }).toEqual({ f, leaks: false });
  }
});
