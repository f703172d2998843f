/**
 * Drift detection without hosts: what the audit expects (from DockerHost's manifest), how it reads
 * dockerd's effective TLS settings, the inspection script (run here on temp files, a fake dockerd
 * and a local port), the TLS probe (against local TLS servers), the comparison, the provider's diff,
 * and the drift command's report. The real hosts are in test/e2e/drift.test.ts.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { X509Certificate, generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import type * as pulumi from "@pulumi/pulumi";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { Server as SshServer, utils as sshUtils } from "ssh2";
import { DAEMON_DEFAULTS } from "../../config";
import { dockerOptsFlags, renderDaemonJson } from "../../render/daemon";
import { renderInspectScript, renderManifest } from "../../render/scripts";
import { expectedFiles, expectedState, managedPaths } from "./auditFixtures";
import { AuditState, Observed, UNKNOWN, compareAudit, desiredOf, flatten, observedAsInputs } from "../../components/audit/compare";
import {
  effectiveSecurity,
  effectiveTls,
  hostKeyAlgorithms,
  parseInspect,
  probeTls,
  probeTlsVersion,
} from "../../components/audit/inspect";
import { provider as auditProvider } from "../../components/audit/provider";
import { clockWarning } from "../../components/hostAudit";
import {
  AUDIT_TYPE,
  auditsFromEvents,
  buildReport,
  certificatesFromEvents,
  hostReport,
  pkiOfConfigValue,
  previewError,
  renderText,
} from "../../scripts/drift";
import { testHost } from "../support/config";
import { selfSigned } from "../support/openssl";

// The provider as the engine calls it: with whatever the state holds (these tests build it loosely).
const provider = auditProvider as unknown as Required<pulumi.dynamic.ResourceProvider>;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-drift-unit-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const host = testHost;

const FILES = (init: "systemd" | "sysv") =>
  managedPaths(init).map((p) => ({
    path: p,
    mode: p.endsWith("key.pem") ? "0400" : p.endsWith(".pem") ? "0444" : "0644",
    content: `${p}\n`,
  }));
const FP = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

/** A host as wanted, and an observation that matches it. */
function clean(init: "systemd" | "sysv" = "systemd"): { expected: AuditState; observed: Observed } {
  const expected = expectedState(host({ init }), renderManifest(FILES(init)), FP);
  const observed: Observed = JSON.parse(JSON.stringify({ ...expected, endpoint: "TLS; refused without a client certificate" }));
  return { expected, observed };
}

describe("what an audit expects", () => {
  test("the files of DockerHost's manifest, owned by root; dockerd with TLS on its port; the certificate served", () => {
    const manifest = renderManifest(FILES("sysv"));
    expect(expectedFiles(manifest)["/etc/docker/server-key.pem"]).toEqual({
      sha256: manifest.match(/^(\S+) 400 \/etc\/docker\/server-key\.pem \S+$/m)?.[1],
      mode: "400",
      owner: "root:root",
    });
    const e = expectedState(host({ init: "sysv", daemon: { port: 2377 } }), manifest, FP);
    expect(Object.keys(e.files)).toEqual([
      "/etc/default/docker",
      "/etc/docker/ca.pem",
      "/etc/docker/daemon.json",
      "/etc/docker/server-cert.pem",
      "/etc/docker/server-key.pem",
    ]);
    expect({ ...e, files: undefined }).toEqual({
      files: undefined,
      reachable: true,
      running: true,
      listening: true,
      port: 2377,
      tlsverify: true,
      tlscacert: "/etc/docker/ca.pem",
      tlscert: "/etc/docker/server-cert.pem",
      tlskey: "/etc/docker/server-key.pem",
      listeners: ["tcp://0.0.0.0:2377", "unix:///var/run/docker.sock"],
      serverCertSha256: FP,
      requireClientCert: true,
      owner: "docker-tls/unit/web1",
    });
    expect(managedPaths("systemd")).toContain("/etc/systemd/system/docker.service.d/docker-tls.conf");
    expect(managedPaths("custom")).toHaveLength(4);
  });

  test("a manifest with other files than the audit knows is an error naming the host", () => {
    expect(() => expectedState(host(), renderManifest(FILES("sysv")), FP)).toThrow(
      /^host web1: the manifest lists .*\/etc\/default\/docker/,
    );
  });

  test("flat inputs: each file under its path, each setting at the top, and back", () => {
    const { expected } = clean();
    const flat = flatten(expected);
    expect(flat["/etc/docker/ca.pem"]).toEqual(expected.files["/etc/docker/ca.pem"]);
    expect(flat.tlsverify).toBe(true);
    expect(desiredOf({ ...flat, host: "web1", connection: {} })).toEqual(expected);
  });
});

describe("dockerd's effective TLS settings", () => {
  test("systemd: the flags of the drop-in, the rest from daemon.json", () => {
    const config = renderDaemonJson({}, DAEMON_DEFAULTS, "systemd");
    expect(effectiveTls(["/usr/sbin/dockerd", "--containerd=/run/containerd/containerd.sock"], config)).toEqual({
      tlsverify: true,
      tlscacert: "/etc/docker/ca.pem",
      tlscert: "/etc/docker/server-cert.pem",
      tlskey: "/etc/docker/server-key.pem",
      listeners: ["tcp://0.0.0.0:2376", "unix:///var/run/docker.sock"],
    });
  });

  test("sysv: DOCKER_OPTS flags, as the service script passes them", () => {
    const argv = ["/usr/sbin/dockerd", "-p", "/var/run/docker.pid", ...dockerOptsFlags(DAEMON_DEFAULTS).join(" ").split(" ")];
    expect(effectiveTls(argv, renderDaemonJson({}, DAEMON_DEFAULTS, "sysv"))).toEqual(
      effectiveTls(["dockerd"], renderDaemonJson({}, DAEMON_DEFAULTS, "systemd")),
    );
  });

  test("the stock unit, flag spellings, and a daemon.json that does not parse", () => {
    expect(effectiveTls(["dockerd", "-H", "fd://", "--containerd=/x"], undefined)).toEqual({
      tlsverify: false,
      tlscacert: "",
      tlscert: "",
      tlskey: "",
      listeners: ["fd://"],
    });
    const argv = [
      "dockerd",
      "-Htcp://0.0.0.0:2376",
      "--host=unix:///run/d.sock",
      "-H=tcp://[::]:2376",
      "--tlsverify=false",
      "--tlscert",
      "/c.pem",
    ];
    expect(effectiveTls(argv, "{not json")).toEqual({
      tlsverify: false,
      tlscacert: "",
      tlscert: "/c.pem",
      tlskey: "",
      listeners: ["tcp://0.0.0.0:2376", "tcp://[::]:2376", "unix:///run/d.sock"],
    });
    // Flags win over daemon.json (dockerd itself refuses both).
    expect(effectiveTls(["dockerd", "--tlsverify"], '{"tlsverify": false, "tlskey": "/k.pem"}')).toMatchObject({
      tlsverify: true,
      tlskey: "/k.pem",
    });
  });
});

describe("the inspection script (run here: temp files, a fake dockerd, a local port)", () => {
  let fake: ChildProcess | undefined;
  let server: net.Server | undefined;
  afterEach(() => {
    fake?.kill();
    server?.close();
    fake = undefined;
    server = undefined;
  });

  const listen = async (): Promise<number> => {
    server = net.createServer();
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return (server.address() as net.AddressInfo).port;
  };

  test("hashes, modes and owners; dockerd's argv and config file; the listener", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "inspect-"));
    const a = path.join(dir, "a.pem");
    const b = path.join(dir, "missing.json");
    fs.writeFileSync(a, "secret key\n", { mode: 0o640 });
    fs.chmodSync(a, 0o640);
    const config = path.join(dir, "daemon.json");
    fs.writeFileSync(config, JSON.stringify({ tlscacert: "/ca.pem", tlscert: "/cert.pem", tlskey: "/key.pem" }));
    // A process named dockerd (a script: its comm is the script's name).
    const dockerd = path.join(dir, "dockerd");
    fs.writeFileSync(dockerd, "#!/bin/sh\nsleep 30\n", { mode: 0o755 });
    fake = spawn(dockerd, ["-H", "tcp://0.0.0.0:9", "--tlsverify", `--config-file=${config}`], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 300));
    const pidFile = path.join(dir, "docker.pid");
    fs.writeFileSync(pidFile, `${fake.pid}\n`);
    const port = await listen();

    // The owner record of a state folder of this test's.
    const stateDir = path.join(dir, "docker-tls");
    fs.mkdirSync(stateDir);
    fs.writeFileSync(path.join(stateDir, "owner"), "docker-tls/prod/web1\nsince 2026-11-30T00:00:00Z\n");
    const script = renderInspectScript({ init: "sysv", port, files: { [a]: {}, [b]: {} }, stateDir }).replace(
      "/var/run/docker.pid",
      pidFile,
    );
    const out = execFileSync("sh", ["-c", script]).toString();
    const owner = execFileSync("stat", ["-c", "%U:%G", a]).toString().trim();
    const sha = execFileSync("sha256sum", [a]).toString().split(" ")[0];
    expect(parseInspect(out, [a, b])).toEqual({
      files: { [a]: { sha256: sha, mode: "640", owner }, [b]: { sha256: "-", mode: "-", owner: "-" } },
      running: true,
      listening: true,
      tlsverify: true,
      tlscacert: "/ca.pem",
      tlscert: "/cert.pem",
      tlskey: "/key.pem",
      listeners: ["tcp://0.0.0.0:9"],
      owner: "docker-tls/prod/web1",
      clock: expect.any(Number),
      // The security audit's view of the same argv and daemon.json: dockerd's defaults here.
      daemon: { icc: true, noNewPrivileges: false, userlandProxy: true, usernsRemap: "", liveRestore: false, seccompProfile: "" },
    });

    // No dockerd (the pid file names a process of another name, then nothing), no listener.
    fs.writeFileSync(pidFile, `${process.pid}\n`);
    const none = parseInspect(execFileSync("sh", ["-c", script.replace(`PORT='${port}'`, "PORT=9")]).toString(), [a]);
    expect(none).toMatchObject({ running: false, listening: false, tlsverify: false, listeners: [] });
  });
});

describe("the TLS probe (local TLS servers)", () => {
  const { cert, key } = selfSigned(fs.mkdtempSync(path.join(tmp, "tls-")), "server", "probe");
  const fingerprint = new X509Certificate(cert).fingerprint256;
  const notAfter = new Date(new X509Certificate(cert).validTo).toISOString().replace(/\.000Z$/, "Z");

  async function serve(requestCert: boolean, run: (port: number) => Promise<void>): Promise<void> {
    const server = tls.createServer({ cert, key, requestCert, rejectUnauthorized: requestCert, ca: [cert] }, (s) => {
      s.on("error", () => undefined);
      s.once("data", () => s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"));
    });
    server.on("tlsClientError", () => undefined);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await run((server.address() as net.AddressInfo).port);
    } finally {
      server.close();
    }
  }

  // What the security audit reads of the served certificate: its key and expiry, and the version.
  const served = {
    protocol: "TLSv1.3",
    keyType: "EC",
    curve: "P-256",
    keyBits: 256,
    notAfter: new Date(new X509Certificate(cert).validTo).toISOString().replace(/\.000Z$/, "Z"),
  };

  test("a server that demands a client certificate: its fingerprint, and requireClientCert", async () => {
    await serve(true, async (port) => {
      expect(await probeTls("127.0.0.1", port, 5000)).toEqual({
        serverCertSha256: fingerprint,
        serverCertNotAfter: notAfter,
        requireClientCert: true,
        endpoint: expect.stringMatching(/^TLS; (refused|closed) without a client certificate$/),
        served,
      });
    });
  });

  test("a server that does not: it answers HTTP without a client certificate", async () => {
    await serve(false, async (port) => {
      expect(await probeTls("127.0.0.1", port, 5000)).toEqual({
        serverCertSha256: fingerprint,
        serverCertNotAfter: notAfter,
        requireClientCert: false,
        endpoint: "TLS without a client certificate: HTTP 200",
        served,
      });
    });
  });

  test("TLS versions: a server of TLS 1.2 and later refuses 1.0 and 1.1; one that takes 1.0 accepts it; no server: unknown", async () => {
    await serve(true, async (port) => {
      expect(await probeTlsVersion("127.0.0.1", port, "TLSv1", 5000)).toBe("refused");
      expect(await probeTlsVersion("127.0.0.1", port, "TLSv1.1", 5000)).toBe("refused");
    });
    const old = tls.createServer({ cert, key, minVersion: "TLSv1", maxVersion: "TLSv1", ciphers: "DEFAULT:@SECLEVEL=0" }, (s) => s.end());
    old.on("tlsClientError", () => undefined);
    await new Promise<void>((r) => old.listen(0, "127.0.0.1", r));
    const port = (old.address() as net.AddressInfo).port;
    try {
      expect(await probeTlsVersion("127.0.0.1", port, "TLSv1", 5000)).toBe("accepted");
      expect(await probeTlsVersion("127.0.0.1", port, "TLSv1.1", 5000)).toBe("refused");
    } finally {
      old.close();
    }
    expect(await probeTlsVersion("127.0.0.1", port, "TLSv1", 5000)).toBe("unknown");
  });

  test("plain TCP (no TLS), and nothing listening", async () => {
    const plain = net.createServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    const port = (plain.address() as net.AddressInfo).port;
    try {
      expect(await probeTls("127.0.0.1", port, 5000)).toMatchObject({
        serverCertSha256: "",
        serverCertNotAfter: "",
        requireClientCert: false,
      });
    } finally {
      plain.close();
    }
    expect(await probeTls("127.0.0.1", port, 5000)).toEqual({
      serverCertSha256: "",
      serverCertNotAfter: "",
      requireClientCert: false,
      endpoint: expect.stringMatching(new RegExp(`^port ${port}: ECONNREFUSED`)),
    });
  });
});

describe("dockerd's effective security settings (effectiveSecurity)", () => {
  const d = (argv: string[], config?: object) => effectiveSecurity(["dockerd", ...argv], config ? JSON.stringify(config) : undefined);
  test("dockerd's defaults: icc and the userland proxy on, the rest off", () => {
    expect(d([])).toEqual({
      icc: true,
      noNewPrivileges: false,
      userlandProxy: true,
      usernsRemap: "",
      liveRestore: false,
      seccompProfile: "",
    });
  });
  test("daemon.json, its keys in any case; a flag wins over it", () => {
    expect(
      d([], { icc: false, "No-New-Privileges": true, "userland-proxy": false, "userns-remap": "default", "live-restore": true }),
    ).toMatchObject({
      icc: false,
      noNewPrivileges: true,
      userlandProxy: false,
      usernsRemap: "default",
      liveRestore: true,
    });
    expect(
      d(["--icc=true", "--userns-remap", "alice:alice", "--no-new-privileges", "--seccomp-profile=unconfined"], { icc: false }),
    ).toMatchObject({
      icc: true,
      usernsRemap: "alice:alice",
      noNewPrivileges: true,
      seccompProfile: "unconfined",
    });
  });
  test("a daemon.json that does not parse sets nothing", () => {
    expect(effectiveSecurity(["dockerd"], "{not json")).toEqual(d([]));
  });
});

describe("the enforced docker group (security.enforceDockerGroup) is drift", () => {
  test("a member beyond the allowed ones is drift; an allowed one missing is not; unenforced, nothing is", () => {
    const { expected, observed } = clean();
    const enforced = { ...expected, dockerGroup: ["alice"] };
    expect(compareAudit(enforced, { ...observed, dockerGroup: ["alice"] })).toEqual([]);
    expect(compareAudit(enforced, { ...observed, dockerGroup: [] })).toEqual([]);
    expect(compareAudit(enforced, { ...observed, dockerGroup: ["alice", "eve"] })).toEqual([
      { key: "dockerGroup", want: ["alice"], got: ["alice", "eve"], text: "docker group has eve (allowed: alice)" },
    ]);
    expect(compareAudit({ ...expected, dockerGroup: [] }, { ...observed, dockerGroup: ["eve"] })[0].text).toBe(
      "docker group has eve (allowed: nobody)",
    );
    // Not enforced: observed, never compared. Not observed (an older provider): taken as wanted.
    expect(compareAudit(expected, { ...observed, dockerGroup: ["eve"] })).toEqual([]);
    expect(compareAudit(enforced, observed)).toEqual([]);
  });
});

describe("comparing a host with what the stack wants", () => {
  test("a matching host: no drift", () => {
    const { expected, observed } = clean();
    expect(compareAudit(expected, observed)).toEqual([]);
  });

  test("one item per file attribute, named as in the inputs and for people", () => {
    const { expected, observed } = clean("sysv");
    observed.files!["/etc/docker/server-key.pem"] = {
      ...observed.files!["/etc/docker/server-key.pem"],
      mode: "644",
      owner: "deploy:deploy",
    };
    observed.files!["/etc/docker/daemon.json"] = { sha256: "0123456789abcdef0123456789abcdef", mode: "644", owner: "root:root" };
    observed.files!["/etc/default/docker"] = { sha256: "-", mode: "-", owner: "-" };
    expect(compareAudit(expected, observed)).toEqual([
      {
        key: '["/etc/default/docker"].sha256',
        want: expected.files["/etc/default/docker"].sha256,
        got: "-",
        text: "/etc/default/docker missing",
      },
      {
        key: '["/etc/docker/daemon.json"].sha256',
        want: expected.files["/etc/docker/daemon.json"].sha256,
        got: "0123456789abcdef0123456789abcdef",
        text: `/etc/docker/daemon.json content changed (sha256 0123456789abcdef0123456…, want ${expected.files["/etc/docker/daemon.json"].sha256.slice(0, 23)}…)`,
      },
      { key: '["/etc/docker/server-key.pem"].mode', want: "400", got: "644", text: "/etc/docker/server-key.pem mode 644 (want 400)" },
      {
        key: '["/etc/docker/server-key.pem"].owner',
        want: "root:root",
        got: "deploy:deploy",
        text: "/etc/docker/server-key.pem owner deploy:deploy (want root:root)",
      },
    ]);
  });

  test("a stopped dockerd is one item (not also its listener, settings and certificate)", () => {
    const { expected, observed } = clean();
    Object.assign(observed, {
      running: false,
      listening: false,
      tlsverify: false,
      tlscacert: "",
      listeners: [],
      serverCertSha256: "",
      requireClientCert: false,
    });
    expect(compareAudit(expected, observed).map((d) => d.text)).toEqual(["dockerd not running"]);
    Object.assign(observed, { running: true, tlsverify: true, tlscacert: "/etc/docker/ca.pem", listeners: expected.listeners });
    expect(compareAudit(expected, observed).map((d) => d.key)).toEqual(["listening"]);
  });

  test("dockerd without TLS: its settings, and the port serving no certificate to anyone", () => {
    const { expected, observed } = clean("sysv");
    Object.assign(observed, {
      tlsverify: false,
      tlscacert: "",
      tlscert: "",
      tlskey: "",
      serverCertSha256: "",
      requireClientCert: false,
      endpoint: "port 2376: EPROTO wrong version number",
    });
    expect(compareAudit(expected, observed).map((d) => d.text)).toEqual([
      "dockerd tlsverify false (want true)",
      "dockerd tlscacert unset (want /etc/docker/ca.pem)",
      "dockerd tlscert unset (want /etc/docker/server-cert.pem)",
      "dockerd tlskey unset (want /etc/docker/server-key.pem)",
      "port 2376 serves no TLS certificate (port 2376: EPROTO wrong version number)",
      "port 2376 does not demand a client certificate",
    ]);
  });

  test("another certificate served, other listeners", () => {
    const { expected, observed } = clean();
    observed.serverCertSha256 = FP.replace(/^AA/, "BB");
    observed.listeners = ["fd://"];
    expect(compareAudit(expected, observed).map((d) => d.text)).toEqual([
      "dockerd listens on fd:// (want tcp://0.0.0.0:2376,unix:///var/run/docker.sock)",
      "port 2376 serves certificate BB:BB:CC:DD:EE:FF:00:11… (want AA:BB:CC:DD:EE:FF:00:11…)",
    ]);
  });

  test("the served certificate's expiry is observed, never drift: not wanted, not in the inputs a refresh leaves, no change in the diff", async () => {
    const { expected, observed } = clean();
    for (const serverCertNotAfter of ["2020-01-01T00:00:00Z", "", "2099-01-01T00:00:00Z"]) {
      expect(compareAudit(expected, { ...observed, serverCertNotAfter })).toEqual([]);
      const inputs = observedAsInputs({ ...flatten(expected), host: "web1", observed: {} }, { ...observed, serverCertNotAfter });
      expect(JSON.stringify(inputs)).not.toContain("NotAfter");
    }
    const olds = { ...flatten(expected), host: "web1", observed: { ...observed, serverCertNotAfter: "2020-01-01T00:00:00Z" } };
    const { observed: _, ...news } = olds;
    expect(await provider.diff!("id", olds, news)).toEqual({ changes: false });
  });

  test("a host that could not be inspected is one item: unreachable, with the reason", () => {
    const { expected } = clean();
    expect(compareAudit(expected, { reachable: false, error: "cannot reach root@192.0.2.10:22 over SSH: timed out" })).toEqual([
      { key: "reachable", want: true, got: false, text: "unreachable: cannot reach root@192.0.2.10:22 over SSH: timed out" },
    ]);
    expect(compareAudit(expected, undefined)).toHaveLength(1);
  });
});

describe("the provider's diff", () => {
  const props = (over: Record<string, unknown> = {}) => {
    const { expected, observed } = clean();
    return {
      ...flatten(expected),
      host: "web1",
      init: "systemd",
      connection: { host: "192.0.2.10", port: 22, user: "root", sudo: false, hostKey: "", privateKey: "KEY" },
      heal: { command: "sh -c 'apply'", manifest: "m" },
      timeoutSeconds: 15,
      observed,
      ...over,
    };
  };
  const news = (p: Record<string, unknown>) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== "observed"));

  test("no drift and the same inputs: no change", async () => {
    expect(await provider.diff!("id", props(), news(props()))).toEqual({ changes: false });
  });

  test("drift on the host: a replacement (the heal runs as its create), keyed by what drifted", async () => {
    const olds = props();
    const o = olds.observed as Observed;
    o.files!["/etc/docker/server-key.pem"] = { ...o.files!["/etc/docker/server-key.pem"], mode: "644" };
    o.running = false;
    expect(await provider.diff!("id", olds, news(props()))).toEqual({ changes: true, replaces: ["/etc/docker/server-key.pem", "running"] });
    const unreachable = props({ observed: { reachable: false, error: "timed out" } });
    expect(await provider.diff!("id", unreachable, news(props()))).toEqual({ changes: true, replaces: ["reachable"] });
  });

  test("a new desired state with a clean host: an update; unknowns in a preview: an update", async () => {
    const n = news(props());
    expect(await provider.diff!("id", props(), { ...n, "/etc/docker/ca.pem": { sha256: "new", mode: "444", owner: "root:root" } })).toEqual(
      {
        changes: true,
      },
    );
    expect(await provider.diff!("id", props(), { ...n, serverCertSha256: UNKNOWN })).toEqual({ changes: true });
    expect(await provider.diff!("id", props(), { ...n, connection: { ...(n.connection as object), port: 2222 } })).toEqual({
      changes: true,
    });
  });

  test("read of a host that does not answer: observed.reachable false with the reason, not an exception", async () => {
    // Two ports of this machine that nothing listens on.
    const ports = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number>((resolve) => {
            const s = net.createServer().listen(0, "127.0.0.1", () => {
              const p = (s.address() as net.AddressInfo).port;
              s.close(() => resolve(p));
            });
          }),
      ),
    );
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "prime256v1",
      privateKeyEncoding: { type: "sec1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const p = props({
      connection: { host: "127.0.0.1", port: ports[0], user: "root", sudo: false, hostKey: "", privateKey },
      port: ports[1],
    });
    const r = await provider.read!("web1-1", p);
    const observed = r.props!.observed as Observed;
    expect(observed).toMatchObject({ reachable: false, serverCertSha256: "", serverCertNotAfter: "", requireClientCert: false });
    expect(observed.error).toMatch(new RegExp(`^cannot reach root@127\\.0\\.0\\.1:${ports[0]} over SSH: .*ECONNREFUSED`));
    // The inputs a refresh leaves: the wanted state but `reachable: false`, so the diff names it.
    expect(r.inputs).toMatchObject({ reachable: false, running: true, host: "web1" });
    expect(r.inputs).not.toHaveProperty("observed");
    // They replace the stored inputs: what the program set but the wanted state stays, the heal
    // included (read has only the outputs to take it from; without it every refresh shows a diff).
    expect(r.inputs).toMatchObject({ heal: p.heal, connection: p.connection, timeoutSeconds: p.timeoutSeconds });
  });
});

describe("the audit's SSH host key", () => {
  test("the algorithms offered for a pinned key: only its own (RSA: its SHA-2 signatures first); none pinned: ssh2's defaults", () => {
    expect(hostKeyAlgorithms("ssh-ed25519")).toEqual(["ssh-ed25519"]);
    for (const bits of [256, 384, 521]) expect(hostKeyAlgorithms(`ecdsa-sha2-nistp${bits}`)).toEqual([`ecdsa-sha2-nistp${bits}`]);
    expect(hostKeyAlgorithms("ssh-rsa")).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(hostKeyAlgorithms("")).toBeUndefined();
    expect(hostKeyAlgorithms(undefined)).toBeUndefined();
  });

  test("a server with ed25519 and ECDSA host keys shows the pinned ECDSA one (ssh2 alone would pick ed25519)", async () => {
    const gen = (type: "ed25519" | "ecdsa") => sshUtils.generateKeyPairSync(type as "ecdsa", { bits: 256 });
    const [ed25519, ecdsa, other] = [gen("ed25519"), gen("ecdsa"), gen("ecdsa")];
    // Accepts anyone; answers every command as a host without dockerd would.
    const server = new SshServer({ hostKeys: [ed25519.private, ecdsa.private] }, (client) => {
      client.on("error", () => {});
      client.on("authentication", (ctx) => ctx.accept());
      client.on("session", (accept) =>
        accept().on("exec", (acceptExec) => {
          const stream = acceptExec();
          stream.write("running no\nlistening no\n");
          stream.exit(0);
          stream.end();
        }),
      );
    });
    const sshPort = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
    );
    // A port of this machine that nothing listens on, for the TLS probe.
    const tlsPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const read = async (hostKey: string) => {
      const { expected } = clean();
      const hostKeyAlgorithm = hostKey.split(" ")[0];
      const connection = {
        host: "127.0.0.1",
        port: sshPort,
        user: "root",
        sudo: false,
        hostKey,
        hostKeyAlgorithm,
        privateKey: gen("ed25519").private,
      };
      // A generous timeout: on a loaded 2-core machine the handshakes can take seconds.
      const props = { ...flatten(expected), host: "web1", init: "systemd", connection, port: tlsPort, timeoutSeconds: 60 };
      const r = await provider.read!("web1-1", props);
      return r.props!.observed as Observed;
    };
    // With the error, so that a failure says why.
    const gist = (o: Observed) => ({ reachable: o.reachable, running: o.running, error: o.error });
    try {
      expect(gist(await read(ecdsa.public))).toEqual({ reachable: true, running: false, error: undefined });
      expect(gist(await read(ed25519.public))).toEqual({ reachable: true, running: false, error: undefined });
      const wrong = await read(other.public);
      expect(wrong.reachable).toBe(false);
      expect(wrong.error).toMatch(/over SSH: the host key does not match the pinned one$/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // Three SSH handshakes and TLS probes: seconds each on a loaded 2-core machine.
  }, 60_000);
});

describe("the drift command's report", () => {
  const { expected, observed } = clean();
  const outputs = (o: Observed) => ({ ...flatten(expected), host: "", observed: o });
  const event = (
    op: string,
    name: string,
    old?: Record<string, unknown>,
    inputs?: Record<string, unknown>,
    type = AUDIT_TYPE,
  ): EngineEvent =>
    ({
      sequence: 0,
      timestamp: 0,
      resourcePreEvent: {
        metadata: {
          op,
          urn: `urn:pulumi:s::docker-tls::dockertls:host:HostAudit$${type}::${name}`,
          type,
          old: old ? { outputs: old, inputs: {} } : undefined,
          new: inputs ? { inputs, outputs: {} } : undefined,
        },
      },
    }) as unknown as EngineEvent;

  const drifted: Observed = { ...JSON.parse(JSON.stringify(observed)), running: false };
  const events = [
    event("refresh", "audit-sbx1-state", { ...outputs(observed), host: "sbx1" }),
    event("same", "audit-sbx1-state", { ...outputs(observed), host: "sbx1" }, { host: "sbx1" }),
    event("create-replacement", "audit-sbx2-state", { ...outputs(drifted), host: "sbx2" }, { host: "sbx2" }),
    event("replace", "audit-sbx2-state", { ...outputs(drifted), host: "sbx2" }, { host: "sbx2" }),
    event("delete-replaced", "audit-sbx2-state", { ...outputs(drifted), host: "sbx2" }),
    event(
      "same",
      "audit-sbx3-state",
      { ...outputs({ reachable: false, error: "cannot reach root@10.0.0.3:22 over SSH: timed out" }), host: "sbx3" },
      {},
    ),
    event("create", "audit-sbx4-state", undefined, { host: "sbx4", connection: { host: "10.0.0.4", port: 22 } }),
    event("update", "host-sbx1-apply", {}, {}, "command:remote:Command"),
    event("same", "ca-key", {}, {}, "tls:index/privateKey:PrivateKey"),
  ];

  test("one entry per host from the preview's events; other changes counted", () => {
    const { audits, otherChanges } = auditsFromEvents(events);
    expect(audits.map((a) => `${a.host} ${a.op}`)).toEqual(["sbx1 same", "sbx2 replace", "sbx3 same", "sbx4 create"]);
    expect(otherChanges).toBe(1);
    expect(audits.map((a) => hostReport(a)).map((h) => `${h.host} ${h.status} ${h.drift.map((d) => d.key).join(",")}`)).toEqual([
      "sbx1 clean ",
      "sbx2 drift running",
      "sbx3 unreachable ",
      "sbx4 pending ",
    ]);
  });

  test("an endpoint check's provider waiting for its host's audit is not another change; a known new config is", () => {
    const provider = (host: unknown) =>
      ({
        resourcePreEvent: {
          metadata: {
            op: "update",
            urn: "urn:pulumi:s::docker-tls::dockertls:host:EndpointCheck$pulumi:providers:docker::check-sbx2-provider",
            type: "pulumi:providers:docker",
            old: { outputs: { host: "tcp://10.0.0.2:2376" }, inputs: {} },
            new: { inputs: { host }, outputs: {} },
          },
        },
      }) as unknown as EngineEvent;
    expect(auditsFromEvents([...events, provider(UNKNOWN)]).otherChanges).toBe(1);
    expect(auditsFromEvents([...events, provider("tcp://10.0.0.9:2376")]).otherChanges).toBe(2);
  });

  test("exit codes: 0 clean, 2 drift (with the command that heals), 1 when a host is unreachable or the preview failed", () => {
    const { audits } = auditsFromEvents(events);
    const [h1, h2, h3, h4] = audits.map((a) => hostReport(a));
    expect(buildReport("prod", [h1], 0)).toEqual({ stack: "prod", status: "clean", exitCode: 0, hosts: [h1], otherChanges: 0 });
    expect(renderText(buildReport("prod", [h1], 0))).toBe("sbx1: clean\n");
    const drift = buildReport("prod", [h1, h2], 0);
    expect(drift).toMatchObject({ status: "drift", exitCode: 2, heal: "npm run pulumi -- up --refresh --stack prod" });
    expect(renderText(drift)).toBe(
      "sbx1: clean\nsbx2: DRIFT dockerd not running\nheal with: npm run pulumi -- up --refresh --stack prod\n",
    );
    expect(buildReport("prod", [h1, h4], 0).exitCode).toBe(2);
    const unreachable = buildReport("prod", [h1, h2, h3], 2);
    expect(unreachable).toMatchObject({ status: "error", exitCode: 1 });
    expect(renderText(unreachable).split("\n")).toEqual([
      "sbx1: clean",
      "sbx2: DRIFT dockerd not running",
      "sbx3: UNREACHABLE cannot reach root@10.0.0.3:22 over SSH: timed out",
      "note: 2 other resource change(s) pending: the configuration differs from the last pulumi up",
      "heal with: npm run pulumi -- up --refresh --stack prod",
      "",
    ]);
    expect(buildReport("prod", [], 0, "error: no stack named prod")).toMatchObject({ exitCode: 1, error: "error: no stack named prod" });
    expect(JSON.parse(JSON.stringify(drift)).hosts[1].drift[0]).toEqual({
      key: "running",
      want: true,
      got: false,
      text: "dockerd not running",
    });
  });

  test("hosts in name order; a failed preview reported by its diagnostics", () => {
    const { audits } = auditsFromEvents(events);
    const [h1, h2] = audits.map((a) => hostReport(a));
    expect(buildReport("prod", [h2, h1], 0).hosts.map((h) => h.host)).toEqual(["sbx1", "sbx2"]);
    // As the CLI prints a configuration error (config.ts: ConfigError is a RunError, no stack).
    const cli = [
      "code: 255",
      " stdout: Previewing update (prod):",
      " +  pulumi:pulumi:Stack docker-tls-prod create error: invalid docker-tls configuration:",
      "Diagnostics:",
      "  pulumi:pulumi:Stack (docker-tls-prod):",
      "    error: invalid docker-tls configuration:",
      '      - hosts[2] (web3).address: "10.0.0.999" is not an IP address or DNS name',
      '      - clients[0] (docker-tls-check).name: "docker-tls-check" is reserved for the program\'s own endpoint checks',
      "",
      "Resources:",
      "    1 errored",
    ].join("\n");
    expect(previewError(cli)).toBe(
      'invalid docker-tls configuration: / - hosts[2] (web3).address: "10.0.0.999" is not an IP address or DNS name / ' +
        '- clients[0] (docker-tls-check).name: "docker-tls-check" is reserved for the program\'s own endpoint checks',
    );
  });
});

describe("the host's clock, from its audit", () => {
  test("beyond a minute off: a warning that says which way and what it breaks; within: none", () => {
    expect(clockWarning("web1", { reachable: true, clockOffsetSeconds: -600 })).toBe(
      "host web1: its clock is 600 s behind this machine's (inspected by its audit); a certificate issued less than that long ago is not valid there yet, and the next pulumi up that issues one fails on it. Set its clock (NTP)",
    );
    expect(clockWarning("web1", { reachable: true, clockOffsetSeconds: 120 })).toMatch(
      /^host web1: its clock is 120 s ahead of this machine's/,
    );
    expect(clockWarning("web1", { reachable: true, clockOffsetSeconds: -60 })).toBeUndefined();
    expect(clockWarning("web1", { reachable: true, clockOffsetSeconds: 3 })).toBeUndefined();
    expect(clockWarning("web1", { reachable: false })).toBeUndefined();
  });
});

describe("the drift command's report of served certificates' expiry", () => {
  const NOW = new Date("2026-12-20T00:00:00Z");
  const DAY = 86_400_000;
  const PKI = { warnBeforeHours: 1440, renewBeforeHours: 720 };
  const iso = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString().replace(/\.000Z$/, "Z");
  const SERVER_URN =
    "urn:pulumi:prod::docker-tls::dockertls:pki:ServerCertificate$tls:index/locallySignedCert:LocallySignedCert::server-sbx1-cert";
  const { expected, observed } = clean();
  const audit = (host: string, o: Observed) => ({ host, op: "same", outputs: { ...flatten(expected), host, observed: o } });
  const serving = (days: number, over: Partial<Observed> = {}): Observed => ({ ...observed, serverCertNotAfter: iso(days), ...over });
  const ctx = (reissued = false) => ({ now: NOW, pki: PKI, certificates: [{ urn: SERVER_URN, sha256: FP, reissued }] });

  test("the stack's certificates by fingerprint, and whether the preview reissues them, from its events", () => {
    const { cert } = selfSigned(fs.mkdtempSync(path.join(tmp, "events-")), "server", "events");
    const event = (op: string, urn: string, certPem?: string, type = "tls:index/locallySignedCert:LocallySignedCert") =>
      ({
        resourcePreEvent: {
          metadata: { op, urn, type, old: certPem ? { outputs: { certPem, validityEndTime: iso(300) }, inputs: {} } : undefined },
        },
      }) as unknown as EngineEvent;
    const other = SERVER_URN.replace("sbx1", "sbx2");
    const certificates = certificatesFromEvents([
      event("same", SERVER_URN, cert),
      event("create-replacement", other),
      event("replace", other, cert),
      event(
        "same",
        "urn:pulumi:prod::docker-tls::tls:index/selfSignedCert:SelfSignedCert::ca-cert",
        cert,
        "tls:index/selfSignedCert:SelfSignedCert",
      ),
      event("same", "urn:pulumi:prod::docker-tls::x::broken", "not a PEM"),
    ]);
    const sha256 = new X509Certificate(cert).fingerprint256;
    expect(certificates).toEqual([
      { urn: SERVER_URN, sha256, notAfter: iso(300), reissued: false },
      { urn: other, sha256, notAfter: iso(300), reissued: true },
    ]);
  });

  const ROTATE_SBX1 = "npm run rotate -- --stack prod --host sbx1";

  test("a served certificate inside the warning window: on the host line, exit 2, the command that renews it now", () => {
    const h = hostReport(audit("sbx1", serving(45)), ctx());
    expect(h).toEqual({
      host: "sbx1",
      status: "clean",
      drift: [],
      certificate: { state: "warn", notAfter: iso(45), left: "in 45 days", renewFrom: iso(15), ours: true, reissued: false },
    });
    const report = buildReport("prod", [h], 0);
    expect(report).toMatchObject({ status: "clean", exitCode: 2, renew: [ROTATE_SBX1] });
    expect(report.heal).toBeUndefined();
    expect(renderText(report)).toBe(`sbx1: clean; certificate expires ${iso(45)} (in 45 days)\nrenew with: ${ROTATE_SBX1}\n`);
  });

  test("inside the renew-before window and reissued by this preview: pulumi up renews it; another host's: rotate; expired: said so", () => {
    const h1 = hostReport(audit("sbx1", serving(12)), ctx(true));
    expect(h1.certificate).toMatchObject({ state: "renew", ours: true, reissued: true });
    // Not the stack's certificate: drift, which the heal replaces; nothing of the stack's to renew.
    const h2 = hostReport(audit("sbx2", serving(-3, { serverCertSha256: FP.replace(/^AA/, "BB") })), ctx(true));
    expect(h2).toMatchObject({ status: "drift", certificate: { state: "expired", left: "3 days ago", ours: false, reissued: false } });
    // The stack's, inside the warning window only (not in this preview's certificates: none reissued).
    const h3 = hostReport(audit("sbx3", serving(50)), { ...ctx(), certificates: [] });
    expect(h3.certificate).toMatchObject({ state: "warn", ours: true, reissued: false });
    const report = buildReport("prod", [h3, h2, h1], 0);
    expect(report).toMatchObject({
      status: "drift",
      exitCode: 2,
      renew: ["npm run pulumi -- up --stack prod", "npm run rotate -- --stack prod --host sbx3"],
    });
    expect(renderText(report).split("\n")).toEqual([
      `sbx1: clean; certificate expires ${iso(12)} (in 12 days)`,
      `sbx2: DRIFT port 2376 serves certificate BB:BB:CC:DD:EE:FF:00:11… (want AA:BB:CC:DD:EE:FF:00:11…); certificate expired ${iso(-3)} (3 days ago)`,
      `sbx3: clean; certificate expires ${iso(50)} (in 50 days)`,
      "heal with: npm run pulumi -- up --refresh --stack prod",
      "renew with: npm run pulumi -- up --stack prod",
      "renew with: npm run rotate -- --stack prod --host sbx3",
      "",
    ]);
  });

  test("inside the renew-before window but not reissued by this preview (left out, or no renewal planned): rotate it", () => {
    const h = hostReport(audit("sbx1", serving(12)), ctx(false));
    expect(buildReport("prod", [h], 0).renew).toEqual([ROTATE_SBX1]);
  });

  test("an unreachable host's probe still dates its certificate; exit 1 wins", () => {
    const h = hostReport(audit("sbx1", { reachable: false, error: "timed out", serverCertSha256: FP, serverCertNotAfter: iso(20) }), ctx());
    const report = buildReport("prod", [h], 0);
    expect(report).toMatchObject({ status: "error", exitCode: 1 });
    expect(renderText(report)).toBe(
      `sbx1: UNREACHABLE timed out; certificate expires ${iso(20)} (in 20 days)\nrenew with: ${ROTATE_SBX1}\n`,
    );
  });

  test("far off, none served, or an observation from before the probe dated it: nothing added, exit as before", () => {
    const far = hostReport(audit("sbx1", serving(61)), ctx());
    expect(far.certificate).toMatchObject({ state: "ok" });
    const none = hostReport(audit("sbx2", { ...observed, serverCertNotAfter: "" }), ctx());
    const old = hostReport(audit("sbx3", observed), ctx());
    expect([none.certificate, old.certificate]).toEqual([undefined, undefined]);
    const report = buildReport("prod", [far, none, old], 0);
    expect(report).toMatchObject({ status: "clean", exitCode: 0 });
    expect(report).not.toHaveProperty("renew");
    expect(renderText(report)).toBe("sbx1: clean\nsbx2: clean\nsbx3: clean\n");
  });

  test("an audit still on an older provider observes no notAfter: the stack's, when the host serves the stack's certificate", () => {
    const certificates = [{ urn: SERVER_URN, sha256: FP, notAfter: iso(20), reissued: false }];
    const h = hostReport(audit("sbx1", observed), { now: NOW, pki: PKI, certificates });
    expect(h.certificate).toEqual({
      state: "renew",
      notAfter: iso(20),
      left: "in 20 days",
      renewFrom: iso(-10),
      ours: true,
      reissued: false,
    });
    const other = hostReport(audit("sbx2", { ...observed, serverCertSha256: FP.replace(/^AA/, "BB") }), {
      now: NOW,
      pki: PKI,
      certificates,
    });
    expect(other.certificate).toBeUndefined();
  });

  test("the windows come from the stack's docker-tls:pki value, with config.ts's defaults", () => {
    expect(pkiOfConfigValue(undefined)).toMatchObject({ warnBeforeHours: 1440, renewBeforeHours: 720 });
    expect(pkiOfConfigValue('{"warnBeforeHours": 2000}')).toMatchObject({ warnBeforeHours: 2000, renewBeforeHours: 720 });
    expect(pkiOfConfigValue('{"renewBeforeHours": 2000}')).toMatchObject({ warnBeforeHours: 2720, renewBeforeHours: 2000 });
    expect(pkiOfConfigValue("{not json")).toMatchObject({ warnBeforeHours: 1440 });
  });
});
