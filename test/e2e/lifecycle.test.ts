/**
 * Host and certificate lifecycle on the sandbox, for real: the Pulumi engine and upstream plugins,
 * the Automation API with a file:// backend in a temp dir, sbx1 (systemd, root) and sbx2 (no
 * systemd, through sudo).
 *
 * sbx1's docker unit starts dockerd with `--config-file /etc/docker/alt.json` (a drop-in of the
 * host's own): the program must make dockerd read its daemon.json, keeping alt.json's settings.
 * Then `npm run rotate -- --host sbx1` reissues sbx1's server certificate with one restart there
 * and none on sbx2, while a client bundle taken before keeps working. Then the CA is rotated in two
 * phases (pki.caGeneration, pki.trustPreviousCa) while a client polls with the two-CA bundle.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";
import { TestHost, allStarts, onHost, restarts, sleeperContainer, tlsGet } from "../support/hosts";
import { programDir, runScript, sandboxStack, tearDown } from "../support/program";
import { StackOutputs } from "../../scripts/lib/bundle";
import type { DriftReport } from "../../scripts/drift";
import { PingReport, startPinging } from "../../scripts/lib/pinger";

const STACK = "life";
let tmp: string;
let work: string;
let env: Record<string, string>;
let hosts: TestHost[];
let stack: Stack;

/** The host's own drop-in: dockerd reads /etc/docker/alt.json, which holds a label. */
const ALT_UNIT = `mkdir -p /etc/systemd/system/docker.service.d
cat > /etc/systemd/system/docker.service.d/10-alt.conf <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock --config-file /etc/docker/alt.json
EOF
echo '{"labels": ["origin=alt"]}' > /etc/docker/alt.json
echo '{"labels": ["origin=daemon-json"]}' > /etc/docker/daemon.json
systemctl daemon-reload && systemctl restart docker.service`;

const ALT_FILES = "sha256sum /etc/systemd/system/docker.service.d/10-alt.conf /etc/docker/alt.json";

async function outputs(): Promise<StackOutputs> {
  return Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value])) as unknown as StackOutputs;
}

/** GET /version on `h` over TLS with a bundle. */
const withBundle = (h: TestHost, o: StackOutputs, client = "ci") =>
  tlsGet(h, { ca: o.caCertPem, cert: o.clientCertificates[client].certPem, key: o.clientCertificates[client].keyPem });

/** `npm run rotate -- ARGS --stack life --dir WORK` (as npm runs it: the toolchain is on PATH). */
function rotate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runScript("rotate", ["--stack", STACK, "--dir", work, ...args], env);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-life-"));
  const status = await sandbox.up({ hosts: 2, kind: "mixed" });
  hosts = status.hosts.slice(0, 2).map((h) => ({ name: h.name, address: h.address, kind: h.kind as TestHost["kind"] }));
  expect(hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(["sbx1:systemd", "sbx2:plain"]);
  work = programDir(path.join(tmp, "program"));
  fs.mkdirSync(path.join(tmp, "state"));
  env = { PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`, PULUMI_CONFIG_PASSPHRASE: "e2e-life" };
  stack = await sandboxStack(STACK, work, env);
  await stack.setConfig("docker-tls:clients", { value: JSON.stringify([{ name: "ci" }]) });
  await stack.setConfig("docker-tls:hosts", {
    value: JSON.stringify([
      { name: "sbx1", address: hosts[0].address, init: "systemd" },
      { name: "sbx2", address: hosts[1].address, user: sandbox.SUDO_USER, init: "sysv" },
    ]),
  });
});

afterAll(() => tearDown(stack, tmp));

let altFiles: string;

test("1. a unit that names --config-file: dockerd reads the managed daemon.json, which keeps that file's settings", async () => {
  await onHost(hosts[0], ALT_UNIT);
  altFiles = await onHost(hosts[0], ALT_FILES);
  expect(await onHost(hosts[0], "tr '\\0' ' ' < /proc/$(cat /var/run/docker.pid)/cmdline")).toContain("--config-file /etc/docker/alt.json");

  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  const cmdline = await onHost(hosts[0], "tr '\\0' ' ' < /proc/$(cat /var/run/docker.pid)/cmdline");
  expect(cmdline).not.toContain("--config-file");
  expect(cmdline).toContain("--containerd=/run/containerd/containerd.sock");
  const managed = JSON.parse(await onHost(hosts[0], "cat /etc/docker/daemon.json")) as Record<string, unknown>;
  expect(managed.labels).toEqual(["origin=alt"]);
  expect(managed.tlsverify).toBe(true);
  expect(await onHost(hosts[0], ALT_FILES)).toBe(altFiles);
  expect((await withBundle(hosts[0], await outputs())).status).toBe(200);
});

test("2. rotate --host sbx1: a new server certificate there, one restart there and none on sbx2; old bundles keep working", async () => {
  const before = await outputs();
  const starts = await allStarts(hosts);
  const r = await rotate(["--host", "sbx1", "--yes"]);
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout.split("\n")[0]).toBe(
    "rotate server certificate of sbx1: reissues server-sbx1; restarts dockerd on sbx1 (1 host); clients keep working",
  );
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 1, sbx2: 0 });
  const after = await outputs();
  expect(after.dockerHosts.sbx1.serverCertSha256).not.toBe(before.dockerHosts.sbx1.serverCertSha256);
  expect(after.dockerHosts.sbx2.serverCertSha256).toBe(before.dockerHosts.sbx2.serverCertSha256);
  // The bundle taken before the rotation: same CA, same client certificate.
  for (const h of hosts) expect((await withBundle(h, before)).status).toBe(200);
  const served = await withBundle(hosts[0], after);
  expect(served.sha256).toBe(after.dockerHosts.sbx1.serverCertSha256);
  // Nothing left to do: a refreshing preview finds the stack as it is.
  await stack.preview({ refresh: true, expectNoChanges: true, color: "never" });
});

test("3. rotate refuses an unknown host, and without --yes and a terminal, changing nothing", async () => {
  const unknown = await rotate(["--host", "nosuch", "--yes"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('host "nosuch" is not deployed in stack life (its hosts: sbx1, sbx2)');
  const noTty = await rotate(["--host", "sbx2"]);
  expect(noTty.code).toBe(1);
  expect(noTty.stderr).toContain("--yes");
});

test("4. CA rotation, phase 1: a new CA issues every server certificate; the new ca.pem holds both CAs; the old ca.pem alone is refused", async () => {
  const before = await outputs();
  const starts = await allStarts(hosts);
  await stack.setConfig("docker-tls:pki", { value: JSON.stringify({ caGeneration: 2, trustPreviousCa: true }) });
  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 1, sbx2: 1 });
  const after = await outputs();
  expect(after.caCertPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  expect(after.caCertPem).toContain(before.caCertPem.trim());
  expect((after as unknown as { caRotation: { phase: string } }).caRotation.phase).toMatch(/^1: generations 2 and 1 trusted/);
  for (const h of hosts) {
    expect((await withBundle(h, after)).status).toBe(200);
    // A client that kept only the old ca.pem: the daemon's new certificate does not verify.
    const stale = await tlsGet(h, {
      ca: before.caCertPem,
      cert: after.clientCertificates.ci.certPem,
      key: after.clientCertificates.ci.keyPem,
    });
    expect(stale.error).toMatch(/certificate/i);
  }
});

test("5. CA rotation, phase 2: the old CA leaves ca.pem, no daemon restarts, and a two-CA bundle never fails a handshake", async () => {
  const twoCa = await outputs();
  const starts = await allStarts(hosts);
  // Polls every host with the phase-1 bundle while the phase-2 update runs.
  let polling = true;
  const failures: string[] = [];
  let polls = 0;
  const poller = (async () => {
    while (polling) {
      for (const h of hosts) {
        const r = await withBundle(h, twoCa);
        polls++;
        if (r.status !== 200) failures.push(`${h.name}: ${r.error ?? r.status}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await stack.setConfig("docker-tls:pki", { value: JSON.stringify({ caGeneration: 2, trustPreviousCa: false }) });
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  } finally {
    polling = false;
    await poller;
  }
  expect({ failures, polled: polls > 4 }).toEqual({ failures: [], polled: true });
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 0, sbx2: 0 });
  const after = await outputs();
  expect(after.caCertPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  expect(twoCa.caCertPem).toContain(after.caCertPem.trim());
  expect((after as unknown as { caRotation: { phase: string } }).caRotation.phase).toBe("2: generation 2 only");
  for (const h of hosts) expect((await withBundle(h, after)).status).toBe(200);
});

/** The pki settings of the CA rotation's phase 2 (test 5) with `more`. */
const pkiAfterRotation = (more: Record<string, number>) => JSON.stringify({ caGeneration: 2, trustPreviousCa: false, ...more });

/** The `warning:` lines of a preview's output that are about certificates (expiry, validity). */
const certificateWarnings = (stdout: string) => [
  ...new Set(
    stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("warning: certificate ")),
  ),
];

const TINY_CONTAINER = sleeperContainer("keeper", "dtls-tiny:1", "--restart unless-stopped");
const KEEPER_STARTED = "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keeper";

test("6. short validities: a validity change waits for each certificate's next issue; a certificate inside the warning window is warned about by the preview and by drift", async () => {
  await stack.setConfig("docker-tls:pki", { value: pkiAfterRotation({ leafValidityHours: 24, renewBeforeHours: 1, warnBeforeHours: 48 }) });
  const first = await stack.preview({ color: "never" });
  // No certificate is reissued for the new validity: each says it keeps its own.
  expect(first.changeSummary.replace ?? 0).toBe(0);
  const kept = certificateWarnings(first.stdout).filter((l) => l.includes("was issued for 8760 hours"));
  expect(kept.map((l) => /certificate (\S+)/.exec(l)?.[1]).sort()).toEqual([
    "client-ci",
    "client-docker-tls-check",
    "server-sbx1",
    "server-sbx2",
  ]);

  // sbx2's server certificate and client ci's, issued now for 24 hours (rotate, as test 2 ran it, does one at a time).
  const urns = (await stack.exportStack()).deployment.resources.map((r: { urn: string }) => r.urn);
  const replace = urns.filter((u: string) => u.endsWith("::server-sbx2-cert") || u.endsWith("::client-ci-cert"));
  expect(replace).toHaveLength(2);
  expect((await stack.up({ color: "never", replace })).summary.result).toBe("succeeded");
  const out = await outputs();
  const preview = await stack.preview({ color: "never" });
  expect(preview.changeSummary.replace ?? 0).toBe(0);
  const expiring = certificateWarnings(preview.stdout).filter((l) => l.includes(" expires "));
  expect(expiring).toHaveLength(2);
  expect(expiring.join("\n")).toContain(
    `certificate server-sbx2 (server of host sbx2) expires ${out.dockerHosts.sbx2.serverCertNotAfter.replace(/\.\d+Z$/, "Z")}, in 23 hours; ` +
      "the first pulumi up after",
  );
  expect(expiring.join("\n")).toContain("npm run rotate -- --stack life --host sbx2");
  expect(expiring.join("\n")).toMatch(/certificate client-ci \(client ci\) expires \S+, in 23 hours/);

  const drift = await runScript("drift", ["--stack", STACK, "--dir", work, "--json"], env, 5 * 60_000);
  expect({ code: drift.code, stderr: drift.code === 2 ? "" : drift.stderr }).toEqual({ code: 2, stderr: "" });
  const report = JSON.parse(drift.stdout) as DriftReport;
  const byHost = Object.fromEntries(report.hosts.map((h) => [h.host, [h.status, h.certificate?.state ?? "-"].join(" ")]));
  expect(byHost).toEqual({ sbx1: "clean ok", sbx2: "clean warn" });
  expect(report.renew).toEqual(["npm run rotate -- --stack life --host sbx2"]);
});

test("7. renewal: the certificates inside the renew-before window are reissued by up, with 1 restart on sbx2 and none on sbx1; old bundles keep working; the longest /_ping gap per host", async () => {
  await onHost(hosts[1], TINY_CONTAINER);
  const keeper = await onHost(hosts[1], KEEPER_STARTED);
  const before = await outputs();
  // 48-hour certificates renewed 24 hours before they expire: sbx2's and ci's 24-hour ones are due now.
  await stack.setConfig("docker-tls:pki", { value: pkiAfterRotation({ leafValidityHours: 48, renewBeforeHours: 24 }) });
  const replaced: string[] = [];
  await stack.preview({
    color: "never",
    onEvent: (e) => {
      const m = e.resourcePreEvent?.metadata;
      if (m?.op === "replace" && m.type.startsWith("tls:")) replaced.push(m.urn.split("::").at(-1) ?? m.urn);
    },
  });
  // The certificates (the endpoint check that follows sbx2's is replaced too).
  expect(replaced.sort()).toEqual(["client-ci-cert", "server-sbx2-cert"]);

  const starts = await allStarts(hosts);
  const pinger = startPinging(
    hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: 2376,
      ca: before.caCertPem,
      cert: before.clientCertificates.ci.certPem,
      key: before.clientCertificates.ci.keyPem,
    })),
  );
  let pings: Record<string, PingReport>;
  try {
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  } finally {
    pings = await pinger.stop();
  }
  console.log(`longest /_ping gap during the renewal (polled every 50 ms): ${JSON.stringify(pings)}`);
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 0, sbx2: 1 });
  expect(pings.sbx1.failures).toBe(0);
  expect(pings.sbx2.polls).toBeGreaterThan(10);

  const after = await outputs();
  expect(after.dockerHosts.sbx2.serverCertSha256).not.toBe(before.dockerHosts.sbx2.serverCertSha256);
  expect(after.dockerHosts.sbx1.serverCertSha256).toBe(before.dockerHosts.sbx1.serverCertSha256);
  expect(after.clientCertificates.ci.certPem).not.toBe(before.clientCertificates.ci.certPem);
  const hoursValid = (o: StackOutputs) => (Date.parse(o.dockerHosts.sbx2.serverCertNotAfter) - Date.now()) / 3_600_000;
  expect(hoursValid(after)).toBeGreaterThan(47);
  // The old ci certificate (same issuer) and the renewed one both work, on both hosts.
  for (const h of hosts) {
    expect((await withBundle(h, before)).status).toBe(200);
    expect((await withBundle(h, after)).status).toBe(200);
  }
  // live-restore: the container with a restart policy ran through sbx2's restart.
  expect(await onHost(hosts[1], KEEPER_STARTED)).toBe(keeper);
  // Renewed for 48 hours: nothing is due any more.
  await stack.preview({ expectNoChanges: true, color: "never" });
});

test("8. a host whose clock is 10 minutes behind: the audit warns, and a new client certificate is refused there before anything changes", async () => {
  // The host's clock as the program reads it: a `date` first on root's PATH that answers 600 s
  // early for `+%s` (the sandbox shares this machine's kernel clock, which a test must not move).
  const FAKE_DATE = `cat > /usr/local/bin/date <<'EOF'
#!/bin/sh
case "$*" in *+%s*) echo $(( $(/bin/date -u +%s) - 600 )) ;; *) exec /bin/date "$@" ;; esac
EOF
chmod 755 /usr/local/bin/date`;
  await onHost(hosts[0], FAKE_DATE);
  try {
    const before = await onHost(hosts[0], "sha256sum /etc/docker/*.pem /etc/docker/daemon.json");
    const preview = await stack.preview({ refresh: true, color: "never" });
    expect(preview.stdout).toMatch(/host sbx1: its clock is (59\d|60\d) s behind this machine's/);
    expect(preview.stdout).not.toMatch(/host sbx2: its clock/);
    // A client added now: its certificate is seconds old, so sbx1 would refuse it as not yet valid.
    await stack.setConfig("docker-tls:clients", { value: JSON.stringify([{ name: "ci" }, { name: "dana" }]) });
    const error = await stack.up({ color: "never" }).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(error).toMatch(/host sbx1: its clock is \d+ s behind: client certificate dana, valid from \S+, is not valid yet/);
    expect(await onHost(hosts[0], "sha256sum /etc/docker/*.pem /etc/docker/daemon.json")).toBe(before);
  } finally {
    await onHost(hosts[0], "rm -f /usr/local/bin/date");
  }
  // The clock right again: the same up goes through.
  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  expect((await withBundle(hosts[0], await outputs(), "dana")).status).toBe(200);
});

test("9. destroy: the host's own drop-in and alt.json are untouched, and dockerd reads alt.json again", async () => {
  expect((await stack.destroy({ color: "never" })).summary.result).toBe("succeeded");
  expect(await onHost(hosts[0], ALT_FILES)).toBe(altFiles);
  expect(await onHost(hosts[0], "tr '\\0' ' ' < /proc/$(cat /var/run/docker.pid)/cmdline")).toContain("--config-file /etc/docker/alt.json");
  expect(JSON.parse(await onHost(hosts[0], "cat /etc/docker/daemon.json"))).toEqual({ labels: ["origin=daemon-json"] });
});
