/**
 * The security checks (components/security/checks.ts): each over fixtures of a clean host and the
 * ways it goes wrong, and properties over generated facts (fast-check): statuses and ids, socket and
 * file modes, the docker group against the allowed list, and that a missing fact is never a pass.
 */
import fc from "fast-check";
import type { Observed } from "../../components/audit/compare";
import type { SecurityFacts } from "../../components/audit/facts";
import {
  CHECK_STATUSES,
  CIS_VERSION,
  SecurityCheck,
  failingWarnings,
  hostSecurity,
  modeWithin,
  securityChecks,
  summarize,
} from "../../components/security/checks";
import { SecurityPlan, securityPlan } from "../../host/plan";
import { testHost } from "../support/config";

const PLAN: SecurityPlan = securityPlan(testHost({ daemon: { icc: false, noNewPrivileges: true, userlandProxy: false } }));

/** What a clean, hardened systemd host looks like to its audit. */
function cleanFacts(): SecurityFacts {
  const stat = (owner: string, mode: string, kind: string, p: string) => ({ owner, mode, kind, path: p });
  return {
    tools: { systemctl: true, ss: true, getent: true, docker: true, timeout: true },
    systemdBooted: true,
    group: { exists: true, gid: "999", members: [], source: "getent", local: [], primary: [] },
    stat: {
      socket: stat("root:docker", "660", "socket", "/var/run/docker.sock"),
      service: stat("root:root", "644", "file", "/lib/systemd/system/docker.service"),
      socketunit: stat("root:root", "644", "file", "/lib/systemd/system/docker.socket"),
      etcdocker: stat("root:root", "700", "directory", "/etc/docker"),
      daemonjson: stat("root:root", "644", "file", "/etc/docker/daemon.json"),
      defaultdocker: stat("-", "-", "-", "/etc/default/docker"),
      tlsca: stat("root:root", "444", "file", "/etc/docker/ca.pem"),
      tlscert: stat("root:root", "444", "file", "/etc/docker/server-cert.pem"),
      tlskey: stat("root:root", "400", "file", "/etc/docker/server-key.pem"),
    },
    socketUnit: { load: "loaded", mode: "0660", group: "docker" },
    listen: { source: "ss", sockets: [{ address: "0.0.0.0:2376", port: 2376, process: "dockerd" }] },
    apparmor: "Y",
    apparmorProfiles: 12,
    selinux: undefined,
    cgroupFs: "cgroup2fs",
    info: {
      securityOptions: ["name=apparmor", "name=seccomp,profile=builtin", "name=userns", "name=cgroupns"],
      cgroupVersion: "2",
      liveRestore: true,
    },
    daemon: { icc: false, noNewPrivileges: true, userlandProxy: false, usernsRemap: "default", liveRestore: true, seccompProfile: "" },
    tls: {
      versions: { TLSv1: "refused", "TLSv1.1": "refused" },
      protocol: "TLSv1.3",
      keyType: "EC",
      curve: "P-256",
      keyBits: 256,
      notAfter: "2027-12-01T00:00:00Z",
    },
    inspectedAt: "2026-12-01T00:00:00Z",
  };
}

/** An observation of a running, secured host with `facts` (null: none gathered, as by an older provider). */
function observed(facts: SecurityFacts | null = cleanFacts(), over: Partial<Observed> = {}): Observed {
  return {
    reachable: true,
    running: true,
    listening: true,
    port: 2376,
    tlsverify: true,
    listeners: PLAN.listeners,
    serverCertSha256: "AB:CD",
    requireClientCert: true,
    ...(facts ? { security: facts } : {}),
    ...over,
  };
}

const byId = (checks: SecurityCheck[]) => Object.fromEntries(checks.map((c) => [c.id, c]));
const check = (id: string, facts: SecurityFacts | null, plan: SecurityPlan = PLAN, over: Partial<Observed> = {}) =>
  byId(securityChecks(plan, observed(facts, over)))[id];
const withFacts = (f: (x: SecurityFacts) => void) => {
  const x = cleanFacts();
  f(x);
  return x;
};

test("a clean hardened host: every check passes but SELinux, which it does not have (unknown, not pass)", () => {
  const checks = securityChecks(PLAN, observed());
  expect(checks.filter((c) => c.status !== "pass").map((c) => [c.id, c.status, c.reason])).toEqual([
    ["protection.selinux", "unknown", "this host has no SELinux (no /sys/fs/selinux)"],
  ]);
  expect(summarize(checks)).toMatchObject({ pass: checks.length - 1, warn: 0, fail: 0, unknown: 1, failing: [] });
  expect(CIS_VERSION).toBe("1.6.0");
  // The CIS ids are the benchmark's; a few, as the benchmark numbers them.
  expect(Object.fromEntries(checks.filter((c) => c.cis).map((c) => [c.id, c.cis]))).toMatchObject({
    "access.docker-group": "1.1.2",
    "access.socket": "3.15, 3.16",
    "access.tcp-tls": "2.7",
    "protection.icc": "2.2",
    "protection.userns": "2.9",
    "protection.no-new-privileges": "2.14",
    "protection.live-restore": "2.15",
    "protection.userland-proxy": "2.16",
    "files.docker-service": "3.1, 3.2",
    "files.tls-key": "3.13, 3.14",
    "files.daemon-json": "3.17, 3.18",
  });
});

describe("access", () => {
  test("docker group: reviewed (warn) without a list; others than the allowed fail, enforced or not; from a directory, said so", () => {
    const eve = withFacts((f) => Object.assign(f.group, { members: ["alice", "eve"], local: ["alice", "eve"] }));
    expect(check("access.docker-group", eve, { ...PLAN, dockerGroup: undefined })).toMatchObject({
      status: "warn",
      reason: expect.stringContaining("alice, eve can drive dockerd, as root"),
    });
    expect(check("access.docker-group", eve, { ...PLAN, dockerGroup: ["alice"] })).toMatchObject({
      status: "fail",
      reason:
        "eve can drive dockerd, as root, and are not in security.dockerGroup; remove them, or set security.enforceDockerGroup to have pulumi up do it",
    });
    expect(check("access.docker-group", eve, { ...PLAN, dockerGroup: ["alice"], enforceDockerGroup: true }).reason).toContain(
      "security.enforceDockerGroup is set: pulumi up removes them",
    );
    expect(check("access.docker-group", eve, { ...PLAN, dockerGroup: ["alice", "eve"] })).toMatchObject({ status: "pass" });
    const ldap = withFacts((f) => Object.assign(f.group, { members: ["bob"], local: [] }));
    expect(check("access.docker-group", ldap, { ...PLAN, dockerGroup: [] }).reason).toContain("bob from a directory, not /etc/group");
  });

  test("docker group without getent: a violation in /etc/group fails; no violation is unknown, never pass", () => {
    const file = (members: string[]) => withFacts((f) => Object.assign(f.group, { source: "file", members, local: members }));
    expect(check("access.docker-group", file(["eve"]), { ...PLAN, dockerGroup: [] }).status).toBe("fail");
    expect(check("access.docker-group", file([]), { ...PLAN, dockerGroup: [] }).status).toBe("unknown");
    expect(
      check(
        "access.docker-group",
        withFacts((f) => Object.assign(f.group, { exists: false, source: "file" })),
      ).status,
    ).toBe("unknown");
    expect(
      check(
        "access.docker-group",
        withFacts((f) => Object.assign(f.group, { exists: false })),
      ).status,
    ).toBe("pass");
  });

  test("primary group docker: it cannot be removed by the program, which says how", () => {
    const svc = withFacts((f) => (f.group.primary = ["svc"]));
    expect(check("access.docker-primary-group", svc, { ...PLAN, dockerGroup: [] })).toMatchObject({
      status: "fail",
      reason:
        "docker is the primary group of svc, who are not in security.dockerGroup; the program does not change a primary group: usermod -g GROUP svc",
    });
    expect(check("access.docker-primary-group", svc, { ...PLAN, dockerGroup: undefined }).status).toBe("warn");
    expect(
      check(
        "access.docker-primary-group",
        withFacts((f) => delete f.group.primary),
      ).status,
    ).toBe("unknown");
  });

  test("the socket: 666 fails, another owner fails, absent passes", () => {
    const mode = (m: string, owner = "root:docker") => withFacts((f) => Object.assign(f.stat.socket, { mode: m, owner }));
    expect(check("access.socket", mode("666"))).toMatchObject({
      status: "fail",
      reason: expect.stringMatching(/^mode 666: any local user can drive dockerd/),
    });
    expect(check("access.socket", mode("660", "eve:docker")).status).toBe("fail");
    expect(check("access.socket", mode("600", "root:root")).status).toBe("pass");
    expect(
      check(
        "access.socket",
        withFacts((f) => Object.assign(f.stat.socket, { owner: "-", mode: "-" })),
      ).status,
    ).toBe("pass");
    expect(check("access.socket", null).status).toBe("unknown");
  });

  test("docker.socket: SocketMode 0666 fails; no systemd passes; systemd without systemctl is unknown", () => {
    expect(
      check(
        "access.socket-unit",
        withFacts((f) => (f.socketUnit.mode = "0666")),
      ).status,
    ).toBe("fail");
    expect(
      check(
        "access.socket-unit",
        withFacts((f) => (f.systemdBooted = false)),
      ).status,
    ).toBe("pass");
    expect(
      check(
        "access.socket-unit",
        withFacts((f) => (f.socketUnit = {})),
      ).status,
    ).toBe("unknown");
    expect(
      check(
        "access.socket-unit",
        withFacts((f) => (f.socketUnit = { load: "not-found" })),
      ).status,
    ).toBe("pass");
  });

  test("listeners: a TCP one without tlsverify, one that is not ours, anything on 2375", () => {
    const extra = [...PLAN.listeners, "tcp://0.0.0.0:2375"];
    expect(check("access.tcp-tls", cleanFacts(), PLAN, { tlsverify: false }).status).toBe("fail");
    expect(check("access.listeners", cleanFacts(), PLAN, { listeners: extra })).toMatchObject({
      status: "fail",
      reason: expect.stringContaining("-H tcp://0.0.0.0:2375"),
    });
    expect(check("access.port-2375", cleanFacts(), PLAN, { listeners: extra }).status).toBe("fail");
    const socat = withFacts((f) => f.listen.sockets.push({ address: "0.0.0.0:2375", port: 2375, process: "socat" }));
    expect(check("access.port-2375", socat)).toMatchObject({
      status: "fail",
      reason: expect.stringMatching(/^socat on 0\.0\.0\.0:2375: /),
    });
    expect(check("access.listeners", socat).status).toBe("pass"); // not dockerd's
    const dockerd = withFacts((f) => f.listen.sockets.push({ address: "127.0.0.1:4243", port: 4243, process: "dockerd" }));
    expect(check("access.listeners", dockerd).status).toBe("fail");
    expect(
      check(
        "access.port-2375",
        withFacts((f) => (f.listen = { source: "-", sockets: [] })),
      ).status,
    ).toBe("unknown");
    // dockerd down: its listeners are unknown.
    expect(check("access.listeners", cleanFacts(), PLAN, { running: false }).status).toBe("unknown");
  });
});

describe("protection", () => {
  test("AppArmor and SELinux: absent is unknown, disabled or permissive a warning, unused by dockerd a warning", () => {
    expect(
      check(
        "protection.apparmor",
        withFacts((f) => delete f.apparmor),
      ).status,
    ).toBe("unknown");
    expect(
      check(
        "protection.apparmor",
        withFacts((f) => (f.apparmor = "N")),
      ).status,
    ).toBe("warn");
    expect(
      check(
        "protection.apparmor",
        withFacts((f) => (f.info!.securityOptions = [])),
      ).status,
    ).toBe("warn");
    expect(
      check(
        "protection.selinux",
        withFacts((f) => (f.selinux = "0")),
      ).status,
    ).toBe("warn");
    expect(
      check(
        "protection.selinux",
        withFacts((f) => (f.selinux = "1")),
      ).status,
    ).toBe("warn");
    expect(
      check(
        "protection.selinux",
        withFacts((f) => ((f.selinux = "1"), f.info!.securityOptions.push("name=selinux"))),
      ).status,
    ).toBe("pass");
  });

  test("seccomp unconfined fails; no docker info is unknown", () => {
    expect(
      check(
        "protection.seccomp",
        withFacts((f) => (f.info!.securityOptions = ["name=seccomp,profile=unconfined"])),
      ).status,
    ).toBe("fail");
    expect(
      check(
        "protection.seccomp",
        withFacts((f) => ((f.info = undefined), (f.infoError = "no docker CLI on the host"))),
      ).reason,
    ).toBe("no docker info: no docker CLI on the host");
  });

  test("userns: configured but not active fails; neither configured nor active warns; rootless passes", () => {
    const off = withFacts((f) => ((f.info!.securityOptions = ["name=seccomp"]), (f.daemon!.usernsRemap = "")));
    expect(check("protection.userns", off, { ...PLAN, daemon: { usernsRemap: "default" } }).status).toBe("fail");
    expect(check("protection.userns", off).status).toBe("warn");
    expect(
      check(
        "protection.userns",
        withFacts((f) => (f.info!.securityOptions = ["name=rootless"])),
      ).reason,
    ).toBe("dockerd runs rootless");
  });

  test("icc, userland-proxy, no-new-privileges: warn at dockerd's defaults, fail against the configuration", () => {
    const defaults = withFacts((f) => (f.daemon = { ...f.daemon!, icc: true, noNewPrivileges: false, userlandProxy: true }));
    const none = { ...PLAN, daemon: {} };
    for (const id of ["protection.icc", "protection.no-new-privileges", "protection.userland-proxy"]) {
      expect(check(id, defaults, none).status).toBe("warn");
      expect(check(id, defaults, PLAN).status).toBe("fail");
      expect(
        check(
          id,
          withFacts((f) => delete f.daemon),
          PLAN,
        ).status,
      ).toBe("unknown");
    }
    expect(check("protection.icc", defaults, PLAN).reason).toBe("daemon.icc false is configured, but dockerd runs with icc true");
  });

  test("cgroups: v1 and v2 confine; unreadable is unknown; live-restore off warns", () => {
    expect(
      check(
        "protection.cgroups",
        withFacts((f) => ((f.info!.cgroupVersion = undefined), (f.cgroupFs = "tmpfs"))),
      ).reason,
    ).toMatch(/^cgroup v1/);
    expect(
      check(
        "protection.cgroups",
        withFacts((f) => ((f.info = undefined), (f.cgroupFs = undefined))),
      ).status,
    ).toBe("unknown");
    expect(
      check(
        "protection.live-restore",
        withFacts((f) => (f.info!.liveRestore = false)),
      ).status,
    ).toBe("warn");
  });
});

describe("files and TLS", () => {
  test("a file of another owner or a looser mode fails; a missing TLS file fails; a missing optional one passes", () => {
    expect(
      check(
        "files.tls-key",
        withFacts((f) => (f.stat.tlskey.mode = "440")),
      ),
    ).toMatchObject({
      status: "fail",
      reason: "/etc/docker/server-key.pem: mode 440 (want 400 or stricter)",
    });
    expect(
      check(
        "files.daemon-json",
        withFacts((f) => (f.stat.daemonjson.owner = "eve:root")),
      ).reason,
    ).toContain("owned by eve:root");
    expect(
      check(
        "files.tls-ca",
        withFacts((f) => Object.assign(f.stat.tlsca, { owner: "-", mode: "-" })),
      ).status,
    ).toBe("fail");
    expect(check("files.default-docker", cleanFacts()).status).toBe("pass");
    expect(
      check(
        "files.docker-service",
        withFacts((f) => (f.stat.service = { owner: "?", mode: "?", kind: "?", path: "?" })),
      ).status,
    ).toBe("unknown");
  });

  test("TLS: an old version accepted fails, one not tried is unknown; a small RSA key fails; days left from the inspection", () => {
    const v = (r: Record<string, "accepted" | "refused" | "unknown">) => withFacts((f) => (f.tls!.versions = r));
    expect(check("tls.versions", v({ TLSv1: "accepted", "TLSv1.1": "refused" })).reason).toBe("port 2376 accepts TLSv1");
    expect(check("tls.versions", v({ TLSv1: "unknown", "TLSv1.1": "refused" })).status).toBe("unknown");
    expect(check("tls.versions", cleanFacts()).reason).toBe("refuses TLSv1, TLSv1.1; a current client gets TLSv1.3");
    expect(
      check(
        "tls.key",
        withFacts((f) => Object.assign(f.tls!, { keyType: "RSA", keyBits: 1024, curve: undefined })),
      ).status,
    ).toBe("fail");
    expect(check("tls.expiry", cleanFacts()).reason).toBe("expires 2027-12-01T00:00:00Z, in 365 days");
    expect(
      check(
        "tls.expiry",
        withFacts((f) => (f.inspectedAt = "2027-11-20T00:00:00Z")),
      ).status,
    ).toBe("warn");
    expect(
      check(
        "tls.expiry",
        withFacts((f) => (f.inspectedAt = "2028-01-01T00:00:00Z")),
      ).status,
    ).toBe("fail");
    expect(check("tls.client-auth", cleanFacts(), PLAN, { requireClientCert: false }).status).toBe("fail");
  });
});

test("an unreachable host: no checks, the error; a failing check is a warning naming host, id and CIS id", () => {
  expect(hostSecurity(PLAN, { reachable: false, error: "cannot reach root@10.0.0.1:22" })).toEqual({
    pass: 0,
    warn: 0,
    fail: 0,
    unknown: 0,
    failing: [],
    checks: [],
    error: "cannot reach root@10.0.0.1:22",
  });
  const s = hostSecurity(PLAN, observed(withFacts((f) => (f.stat.socket.mode = "666"))));
  expect(s.fail).toBe(1);
  expect(failingWarnings("web1", s)).toEqual([
    "host web1: security check access.socket failed (CIS 3.15, 3.16): mode 666: any local user can drive dockerd, as root (chmod 660 /var/run/docker.sock; it comes back so when dockerd restarts)",
  ]);
});

// ---------------------------------------------------------------------------------------------
// Properties

const octal = fc.integer({ min: 0, max: 0o7777 }).map((n) => n.toString(8));

test("modeWithin: a mode is within a limit exactly when it grants no bit beyond it", () => {
  fc.assert(
    fc.property(octal, fc.constantFrom(0o400, 0o444, 0o644, 0o660, 0o755), (mode, max) => {
      expect(modeWithin(mode, max)).toBe((parseInt(mode, 8) | max) === max);
    }),
  );
  expect(modeWithin("rw", 0o644)).toBe(false);
});

test("the socket fails exactly when its mode grants more than 660 or it is not root's", () => {
  fc.assert(
    fc.property(octal, fc.constantFrom("root:docker", "root:root", "eve:docker", "root:staff"), (mode, owner) => {
      const c = check(
        "access.socket",
        withFacts((f) => Object.assign(f.stat.socket, { mode, owner })),
      );
      const ok = (parseInt(mode, 8) & ~0o660) === 0 && ["root:docker", "root:root"].includes(owner);
      expect(c.status).toBe(ok ? "pass" : "fail");
    }),
  );
});

test("the docker group fails exactly when it has a member beyond the allowed list", () => {
  const user = fc.constantFrom("alice", "bob", "eve", "mallory", "svc");
  fc.assert(
    fc.property(fc.uniqueArray(user), fc.uniqueArray(user), fc.boolean(), (members, allowed, enforce) => {
      const f = withFacts((x) => Object.assign(x.group, { members, local: members }));
      const c = check("access.docker-group", f, { ...PLAN, dockerGroup: allowed, enforceDockerGroup: enforce });
      expect(c.status).toBe(members.every((m) => allowed.includes(m)) ? "pass" : "fail");
    }),
  );
});

test("whatever facts are missing, every check has a known status and a reason, ids are unique, and a check whose facts are gone is no pass", () => {
  const drop = fc.subarray([
    "tools",
    "group",
    "stat",
    "socketUnit",
    "listen",
    "apparmor",
    "selinux",
    "cgroupFs",
    "info",
    "daemon",
    "tls",
    "inspectedAt",
  ]);
  fc.assert(
    fc.property(drop, fc.boolean(), (dropped, running) => {
      const f = cleanFacts() as unknown as Record<string, unknown>;
      for (const k of dropped) {
        if (k === "group") f.group = { exists: true, gid: "999", members: [], source: "file", local: [] };
        else if (k === "stat") f.stat = {};
        else if (k === "socketUnit") f.socketUnit = {};
        else if (k === "listen") f.listen = { source: "-", sockets: [] };
        else if (k === "tools") f.tools = {};
        else delete f[k];
      }
      const checks = securityChecks(PLAN, observed(f as unknown as SecurityFacts, running ? {} : { running: false, listeners: [] }));
      expect(new Set(checks.map((c) => c.id)).size).toBe(checks.length);
      for (const c of checks) {
        expect(CHECK_STATUSES).toContain(c.status);
        expect(c.reason.length).toBeGreaterThan(0);
      }
      const st = byId(checks);
      const notPass = (id: string) => expect([id, st[id].status]).not.toEqual([id, "pass"]);
      if (dropped.includes("stat")) ["access.socket", "files.tls-key", "files.docker-service", "files.etc-docker"].forEach(notPass);
      if (dropped.includes("group")) ["access.docker-group"].forEach(notPass);
      if (dropped.includes("listen")) notPass("access.port-2375");
      if (dropped.includes("apparmor")) notPass("protection.apparmor");
      if (dropped.includes("daemon")) ["protection.icc", "protection.userland-proxy", "protection.no-new-privileges"].forEach(notPass);
      if (dropped.includes("tls")) ["tls.versions", "tls.key", "tls.expiry"].forEach(notPass);
      if (dropped.includes("info")) notPass("protection.seccomp");
      if (!running) ["access.tcp-tls", "access.listeners"].forEach(notPass);
    }),
    { numRuns: 200 },
  );
  // No facts at all (an audit from before this program gathered them): unknown, but for what the drift facts tell.
  const none = securityChecks(PLAN, observed(null));
  expect(none.filter((c) => c.status === "pass").map((c) => c.id)).toEqual(["access.tcp-tls", "access.listeners", "tls.client-auth"]);
});
