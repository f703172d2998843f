/**
 * The security audit on the sandbox, for real: the Pulumi engine and upstream plugins, the
 * Automation API with a file:// backend in a temp dir, sbx1 (systemd, root) and sbx2 (no systemd,
 * through sudo), and `npm run audit` (as npm runs it).
 *
 * In order: a clean host's audit (AppArmor and SELinux `unknown` where the host's kernel has none,
 * never pass; `npm run audit` exits 2 on the default daemon settings' warnings and its --json is
 * the stack output); the daemon hardened (icc, no-new-privileges, userland-proxy, userns-remap) and
 * `npm run audit` exits 0; a user added to docker on sbx1 fails there only (a preview warning, exit
 * 2) and is not drift; with enforcement `up` removes it, and a member added again is drift that
 * `up --refresh` heals; the socket at 0666 on sbx2 fails; a plaintext listener on 2375 on sbx1
 * fails; sbx2 unreachable over SSH makes `npm run audit` exit 1; destroy puts the docker group back
 * as it was before enforcement.
 *
 * Drafted without a run (the sandbox was in use): see the commit that added it for what it assumes
 * of the sandbox hosts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";
import type { HostSecurity } from "../../components/security/checks";
import { TestHost, onHost } from "../support/hosts";
import { programDir, runScript, sandboxStack, tearDown } from "../support/program";

const STACK = "sec";
let tmp: string;
let work: string;
let env: Record<string, string>;
let hosts: TestHost[];
let stack: Stack;

/** `npm run audit -- --stack sec --dir WORK [ARGS]` (as npm runs it: the toolchain is on PATH). */
const audit = (args: string[] = []) => runScript("audit", ["--stack", STACK, "--dir", work, ...args], env);

/** `npm run audit -- --json`: its exit code and the hosts' results. */
async function auditJson(): Promise<{ code: number; hosts: Record<string, HostSecurity>; stderr: string }> {
  const r = await audit(["--json"]);
  return { code: r.code, hosts: JSON.parse(r.stdout) as Record<string, HostSecurity>, stderr: r.stderr };
}

const statusOf = (s: HostSecurity, id: string) => s.checks.find((c) => c.id === id)?.status;
/** The checks that warn or fail, as `id: status`: what makes npm run audit exit 2. */
const flagged = (all: Record<string, HostSecurity>) =>
  Object.entries(all).flatMap(([h, s]) =>
    s.checks.filter((c) => c.status === "warn" || c.status === "fail").map((c) => `${h} ${c.id}: ${c.status} (${c.reason})`),
  );

async function securityOutput(): Promise<Record<string, HostSecurity>> {
  return (await stack.outputs()).security.value as Record<string, HostSecurity>;
}

/** The stack's hosts: those named, each with its own daemon overrides if given. */
const setHosts = (names: ("sbx1" | "sbx2")[], daemon: Record<string, Record<string, unknown>> = {}) =>
  stack.setConfig("docker-tls:hosts", {
    value: JSON.stringify(
      names.map((n) => ({
        ...(n === "sbx1"
          ? { name: "sbx1", address: hosts[0].address, init: "systemd" }
          : { name: "sbx2", address: hosts[1].address, user: sandbox.SUDO_USER, init: "sysv" }),
        ...(daemon[n] ? { daemon: daemon[n] } : {}),
      })),
    ),
  });
const dockerGroup = async (h: TestHost) => (await onHost(h, "getent group docker | cut -d: -f4")).trim();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-sec-"));
  const status = await sandbox.up({ hosts: 2, kind: "mixed" });
  hosts = status.hosts.slice(0, 2).map((h) => ({ name: h.name, address: h.address, kind: h.kind as TestHost["kind"] }));
  expect(hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(["sbx1:systemd", "sbx2:plain"]);
  // A stock host has nobody in docker; the test's user `eve` exists on sbx1 only, outside the group.
  for (const h of hosts) expect(await dockerGroup(h)).toBe("");
  await onHost(hosts[0], "id eve >/dev/null 2>&1 || useradd --no-create-home --shell /bin/false eve");
  work = programDir(path.join(tmp, "program"));
  fs.mkdirSync(path.join(tmp, "state"));
  env = { PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`, PULUMI_CONFIG_PASSPHRASE: "e2e-sec" };
  stack = await sandboxStack(STACK, work, env);
  await stack.setConfig("docker-tls:clients", { value: JSON.stringify([{ name: "ci" }]) });
  // Nobody may be in docker: a member is a fail (without a list it would only be a warning).
  await stack.setConfig("docker-tls:security", { value: JSON.stringify({ dockerGroup: [] }) });
  // sbx2 alone first: the hardened daemon of test 2 is one that sbx1 (a container) cannot run.
  await setHosts(["sbx2"]);
});

afterAll(() => tearDown(stack, tmp));

test("1. a clean host: no fail; AppArmor and SELinux unknown where the kernel has none; audit exits 2 on the default daemon's warnings; --json is the output", async () => {
  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  const output = await securityOutput();
  expect(Object.keys(output)).toEqual(["sbx2"]);
  for (const h of [hosts[1]]) {
    const s = output[h.name];
    expect({ host: h.name, failing: s.failing }).toEqual({ host: h.name, failing: [] });
    expect(s.pass + s.warn + s.fail + s.unknown).toBe(s.checks.length);
    // What the host's kernel has decides: none is `unknown`, shown as such, never `pass`.
    const apparmor = (await onHost(h, "cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo none")).trim();
    const selinux = (await onHost(h, "cat /sys/fs/selinux/enforce 2>/dev/null || echo none")).trim();
    if (apparmor === "none") expect(statusOf(s, "protection.apparmor")).toBe("unknown");
    if (selinux === "none") expect(statusOf(s, "protection.selinux")).toBe("unknown");
    // The rest of a stock host as the program leaves it.
    for (const id of [
      "access.docker-group",
      "access.socket",
      "access.tcp-tls",
      "access.listeners",
      "access.port-2375",
      "tls.client-auth",
      "tls.versions",
    ]) {
      expect([h.name, id, statusOf(s, id)]).toEqual([h.name, id, "pass"]);
    }
    for (const id of ["files.etc-docker", "files.daemon-json", "files.tls-ca", "files.tls-cert", "files.tls-key"]) {
      expect([h.name, id, statusOf(s, id)]).toEqual([h.name, id, "pass"]);
    }
    // dockerd's own defaults, which CIS advises against: warnings.
    expect(statusOf(s, "protection.icc")).toBe("warn");
  }
  // sbx2 has no systemd: docker.socket is never used there.
  expect(statusOf(output.sbx2, "access.socket-unit")).toBe("pass");

  const text = await audit();
  expect({ code: text.code, stderr: text.stderr }).toEqual({ code: 2, stderr: "" });
  expect(text.stdout).toMatch(/^sbx2: \d+ pass, \d+ warn, 0 fail, \d+ unknown\n/);
  const json = await auditJson();
  expect(json.code).toBe(2);
  expect(json.hosts).toEqual(output);
});

test("2. hardened (icc, no-new-privileges, userland-proxy, userns-remap): npm run audit exits 0", async () => {
  await stack.setConfig("docker-tls:daemon", {
    value: JSON.stringify({ icc: false, noNewPrivileges: true, userlandProxy: false, usernsRemap: "default" }),
  });
  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  const daemonJson = JSON.parse(await onHost(hosts[1], "cat /etc/docker/daemon.json")) as Record<string, unknown>;
  expect(daemonJson).toMatchObject({ icc: false, "no-new-privileges": true, "userland-proxy": false, "userns-remap": "default" });
  const json = await auditJson();
  expect({ code: json.code, flagged: flagged(json.hosts), stderr: json.stderr }).toEqual({ code: 0, flagged: [], stderr: "" });
  expect(statusOf(json.hosts.sbx2, "protection.userns")).toBe("pass");
  expect(json.hosts).toEqual(await securityOutput());
});

test("2b. sbx1 joins: a container cannot take the userland proxy off, so up fails there with dockerd's own message and the usual rollback; with it on, sbx1 is secured", async () => {
  const before = await onHost(hosts[0], "cat /etc/docker/daemon.json 2>/dev/null || echo absent");
  await setHosts(["sbx1", "sbx2"]);
  const error = await stack.up({ color: "never" }).then(
    () => "",
    (e: Error) => e.message,
  );
  expect(error).toContain("host sbx1: dockerd did not start with the new configuration");
  expect(error).toContain("route_localnet: read-only file system");
  expect(await onHost(hosts[0], "cat /etc/docker/daemon.json 2>/dev/null || echo absent")).toBe(before);
  expect((await onHost(hosts[0], "systemctl is-active docker.service")).trim()).toBe("active");

  await setHosts(["sbx1", "sbx2"], { sbx1: { userlandProxy: true } });
  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  const json = await auditJson();
  expect(json.code).toBe(2);
  expect(flagged(json.hosts)).toEqual([
    expect.stringMatching(/^sbx1 protection\.userland-proxy: warn \(userland-proxy true, as configured/),
  ]);
});

test("3. a user added to docker on sbx1: a fail there only, a preview warning, exit 2; not drift without enforcement", async () => {
  await onHost(hosts[0], "gpasswd -a eve docker");
  const preview = await stack.preview({ refresh: true, color: "never" });
  expect(preview.stdout).toContain("host sbx1: security check access.docker-group failed (CIS 1.1.2): eve can drive dockerd");
  expect(preview.stdout).not.toContain("host sbx2: security check");
  const json = await auditJson();
  expect(json.code).toBe(2);
  expect(json.hosts.sbx1.failing.map((c) => c.id)).toEqual(["access.docker-group"]);
  expect(json.hosts.sbx2.failing).toEqual([]);
  // Observed, not enforced: no drift.
  await stack.preview({ refresh: true, expectNoChanges: true, color: "never" });
});

test("4. with enforcement, up removes eve (no restart); a member added again is drift that up --refresh heals", async () => {
  await stack.setConfig("docker-tls:security", { value: JSON.stringify({ dockerGroup: [], enforceDockerGroup: true }) });
  const pid = (await onHost(hosts[0], "systemctl show -p MainPID --value docker.service")).trim();
  expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  expect(await dockerGroup(hosts[0])).toBe("");
  expect((await onHost(hosts[0], "cat /etc/docker/docker-tls/docker-group.orig")).trim()).toBe("eve");
  expect((await onHost(hosts[0], "systemctl show -p MainPID --value docker.service")).trim()).toBe(pid);
  expect((await auditJson()).hosts.sbx1.failing).toEqual([]);

  await onHost(hosts[0], "gpasswd -a eve docker");
  const drift = await stack.preview({ refresh: true, expectNoChanges: true, color: "never" }).then(
    () => "",
    (e: Error) => e.message,
  );
  expect(drift).toContain("audit-sbx1-state");
  expect(drift).toContain("dockerGroup");
  expect((await stack.up({ refresh: true, color: "never" })).summary.result).toBe("succeeded");
  expect(await dockerGroup(hosts[0])).toBe("");
  await stack.preview({ refresh: true, expectNoChanges: true, color: "never" });
});

test("5. the socket at 0666 on sbx2 is a fail there", async () => {
  await onHost(hosts[1], "chmod 666 /var/run/docker.sock");
  try {
    const json = await auditJson();
    expect(json.code).toBe(2);
    expect(json.hosts.sbx2.failing.map((c) => c.id)).toEqual(["access.socket"]);
    expect(json.hosts.sbx2.failing[0].reason).toMatch(/^mode 666: any local user can drive dockerd/);
    expect(json.hosts.sbx1.failing).toEqual([]);
  } finally {
    await onHost(hosts[1], "chmod 660 /var/run/docker.sock");
  }
});

test("6. a second, plaintext listener on 2375 on sbx1 is a fail there", async () => {
  // A plaintext TCP listener (perl is in every Debian: perl-base), detached from the SSH session.
  const listener = `setsid perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0:2375", Listen => 5, ReuseAddr => 1) or die; while (my $c = $s->accept) { print $c "HTTP/1.0 200 OK\\r\\n\\r\\n"; close $c }' </dev/null >/dev/null 2>&1 &
echo $! > /run/dtls-2375.pid`;
  await onHost(hosts[0], listener);
  try {
    await onHost(hosts[0], "for i in 1 2 3 4 5 6 7 8 9 10; do ss -ltn | grep -q ':2375 ' && exit 0; sleep 0.5; done; exit 1");
    const json = await auditJson();
    expect(json.code).toBe(2);
    const check = json.hosts.sbx1.failing.find((c) => c.id === "access.port-2375");
    expect(check?.reason).toMatch(/^perl on 0\.0\.0\.0:2375: /);
    expect(json.hosts.sbx2.failing).toEqual([]);
  } finally {
    await onHost(hosts[0], 'kill "$(cat /run/dtls-2375.pid)" 2>/dev/null; rm -f /run/dtls-2375.pid');
  }
});

test("7. sbx2 unreachable over SSH: npm run audit exits 1 and says which host", async () => {
  // SSH refused inside sbx2's network namespace (from this machine: no SSH needed to undo it).
  const netns = sandbox.netnsName("sbx2");
  const rule = ["INPUT", "-p", "tcp", "--dport", "22", "-j", "REJECT"];
  execFileSync("ip", ["netns", "exec", netns, "iptables", "-w", "-I", ...rule]);
  try {
    const r = await audit();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`\nsbx2: ERROR cannot reach ${sandbox.SUDO_USER}@${hosts[1].address}:22 over SSH`);
    const json = await auditJson();
    expect(json.code).toBe(1);
    expect(json.hosts.sbx2).toMatchObject({ checks: [], error: expect.stringContaining("cannot reach") });
  } finally {
    execFileSync("ip", ["netns", "exec", netns, "iptables", "-w", "-D", ...rule]);
  }
});

test("8. destroy puts eve back into docker on sbx1 (the group before enforcement), and nobody on sbx2", async () => {
  await stack.destroy({ color: "never" });
  expect(await dockerGroup(hosts[0])).toBe("eve");
  expect(await dockerGroup(hosts[1])).toBe("");
  expect((await onHost(hosts[0], "ls /etc/docker/docker-tls 2>/dev/null | wc -l")).trim()).toBe("0");
});
