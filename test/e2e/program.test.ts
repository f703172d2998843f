/**
 * The program for real: the Pulumi engine and plugins of the toolchain, the Automation API with a
 * file:// backend in a temp dir, and two sandbox hosts: sbx1 (systemd, root) and sbx2 (no systemd,
 * DOCKER_OPTS in /etc/default/docker, reached as the sudo user `deploy`).
 *
 * The cases share one stack and run in order, each starting from the state the previous one left:
 * up from nothing, refusals, permissions and secrets, idempotence, client and setting changes, a
 * rejected setting, and destroy. Daemon restarts are counted from dockerd's own log.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { EngineEvent, Stack, UpResult } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";
import { ORIGINAL_STATE, TestHost, allStarts, onHost, restarts, sleeperContainer, tlsGet } from "../support/hosts";
import { programDir, sandboxStack } from "../support/program";
import { StackOutputs, writeBundle } from "../../scripts/lib/bundle";
import { foreignClient } from "../support/openssl";

let tmp: string;
let stack: Stack;
let hosts: TestHost[];
let destroyed = false;
let otherCa: { ca: string; cert: string; key: string };
const originals = new Map<string, string>();

// ---------------------------------------------------------------------------------------------
// Helpers

async function dockerdIdentity(host: TestHost): Promise<string> {
  return (await onHost(host, `pid=$(cat /var/run/docker.pid); echo "$pid $(cut -d ' ' -f 22 /proc/$pid/stat)"`)).trim();
}

/** The docker CLI against a host with a bundle dir; resolves with exit code and output. */
function dockerCli(host: TestHost, bundleDir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      "docker",
      args,
      {
        env: {
          ...process.env,
          DOCKER_HOST: `tcp://${host.address}:2376`,
          DOCKER_TLS_VERIFY: "1",
          DOCKER_CERT_PATH: bundleDir,
          DOCKER_CONTEXT: "",
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

function plainHttpGet(host: TestHost): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: host.address, port: 2376, path: "/version", timeout: 15_000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => resolve({ error: e.message }));
  });
}

async function outputs(): Promise<StackOutputs> {
  const out = await stack.outputs();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value])) as unknown as StackOutputs;
}

/** Writes the bundle of `client` from the current outputs into a fresh dir. */
async function bundleFor(client: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(tmp, `bundle-${client}-`));
  writeBundle(await outputs(), client, dir);
  return dir;
}

interface Run {
  result: UpResult;
  log: string;
  /** URN suffixes (type::name) of resources replaced, created or updated. */
  ops: { op: string; type: string; name: string }[];
}

async function up(): Promise<Run> {
  let log = "";
  const ops: Run["ops"] = [];
  const result = await stack.up({
    onOutput: (s) => (log += s),
    onEvent: (e: EngineEvent) => {
      const m = e.resOutputsEvent?.metadata;
      if (m && m.op !== "same") ops.push({ op: m.op, type: m.type, name: m.urn.split("::").pop() ?? "" });
    },
  });
  return { result, log, ops };
}

/** The stack's config: the sandbox hosts, the clients, and per-test changes. */
async function configure(opts: { clients: string[]; hosts?: Record<string, Record<string, unknown>> }): Promise<void> {
  const base: Record<string, Record<string, unknown>> = {
    sbx1: { name: "sbx1", address: hosts[0].address, dnsNames: ["sbx1.sandbox.internal"], init: "systemd" },
    sbx2: { name: "sbx2", address: hosts[1].address, user: sandbox.SUDO_USER, init: "sysv" },
  };
  const list = Object.entries(base).map(([name, h]) => ({ ...h, ...(opts.hosts?.[name] ?? {}) }));
  await stack.setAllConfig({
    "docker-tls:hosts": { value: JSON.stringify(list) },
    "docker-tls:clients": { value: JSON.stringify(opts.clients.map((name) => ({ name }))) },
  });
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-e2e-"));
  otherCa = foreignClient(fs.mkdtempSync(path.join(tmp, "other-")));

  const status = await sandbox.up({ hosts: 2, kind: "mixed" });
  hosts = status.hosts.slice(0, 2).map((h) => ({ name: h.name, address: h.address, kind: h.kind as TestHost["kind"] }));
  expect(hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(["sbx1:systemd", "sbx2:plain"]);
  for (const h of hosts) originals.set(h.name, await onHost(h, ORIGINAL_STATE));

  // The program, in a temp dir of its own (stack settings are written next to Pulumi.yaml).
  const work = path.join(tmp, "program");
  programDir(work);
  fs.mkdirSync(path.join(tmp, "state"));

  // The SSH key as a secret (the path a real stack takes), host keys pinned from known_hosts.
  stack = await sandboxStack("e2e", work, {
    PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-test",
  });
  await configure({ clients: ["ci", "alice"] });
});

afterAll(async () => {
  try {
    if (stack && !destroyed) await stack.destroy();
    if (stack) await stack.workspace.removeStack("e2e");
  } finally {
    await sandbox.down();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------

let first: Run;
let cmdlines: Record<string, string>;

test("0. an RSA host-key pin is a config error that says why, before any host is touched", async () => {
  // The upstream command provider offers the server only the pinned key's type: for RSA that is
  // ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse.
  const keyFile = path.join(fs.mkdtempSync(path.join(tmp, "rsa-")), "key");
  execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", keyFile]);
  const rsa = fs.readFileSync(`${keyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  await configure({ clients: ["ci", "alice"], hosts: { sbx1: { hostKey: rsa } } });
  try {
    let error = "";
    try {
      await up();
    } catch (e) {
      error = String((e as Error).message);
    }
    expect(error).toContain("hosts[0] (sbx1).hostKey");
    expect(error).toMatch(/ssh-rsa/);
    expect(error).toContain(`ssh-keyscan -t ed25519 -p 22 ${hosts[0].address}`);
    // Nothing but the stack itself was created, and neither host was changed.
    const resources = ((await stack.exportStack()).deployment.resources ?? []) as { type: string }[];
    expect(resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    for (const h of hosts) {
      expect(await onHost(h, ORIGINAL_STATE)).toBe(originals.get(h.name));
      expect(await onHost(h, "[ -e /etc/docker/docker-tls ] && echo touched || echo untouched")).toBe("untouched\n");
    }
  } finally {
    await configure({ clients: ["ci", "alice"] });
  }
});

test("1. up from nothing: every host answers over TLS, the unix socket still works", async () => {
  // Sample the command lines of every process on the hosts while the program runs.
  const sampler = `touch /tmp/dtls-sampling; : > /tmp/dtls-cmdlines
while [ -e /tmp/dtls-sampling ]; do
  for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done >> /tmp/dtls-cmdlines
  sleep 0.2
done
sort -u /tmp/dtls-cmdlines; rm -f /tmp/dtls-cmdlines`;
  const sampling = hosts.map((h) => sandbox.runScriptOnHost(h.address, sampler));
  await new Promise((r) => setTimeout(r, 1000));
  try {
    first = await up();
  } finally {
    await Promise.all(hosts.map((h) => onHost(h, "rm -f /tmp/dtls-sampling")));
  }
  cmdlines = Object.fromEntries((await Promise.all(sampling)).map((r, i) => [hosts[i].name, r.stdout]));
  expect(first.result.summary.result).toBe("succeeded");

  const out = await outputs();
  const ci = await bundleFor("ci");
  for (const h of hosts) {
    expect(out.dockerHosts[h.name].dockerHost).toBe(`tcp://${h.address}:2376`);
    const version = await dockerCli(h, ci, ["version", "--format", "{{.Server.Version}}"]);
    expect(version).toEqual({ code: 0, out: `${out.dockerHosts[h.name].dockerVersion}\n` });
    const info = await dockerCli(h, ci, ["info", "--format", "{{.ServerVersion}} {{.OperatingSystem}}"]);
    expect(info.code).toBe(0);
    // The certificate the daemon serves is the one in the outputs.
    const served = await tlsGet(h, { ca: out.caCertPem, cert: out.clientCertificates.ci.certPem, key: out.clientCertificates.ci.keyPem });
    expect(served.status).toBe(200);
    expect(served.sha256).toBe(out.dockerHosts[h.name].serverCertSha256);
    const local = await onHost(h, "docker -H unix:///var/run/docker.sock info --format '{{.ServerVersion}}'");
    expect(local.trim()).toBe(out.dockerHosts[h.name].dockerVersion);
  }
});

test("2. refused: no client certificate, another CA's client, another CA for the server, plain HTTP", async () => {
  const out = await outputs();
  const ci = { cert: out.clientCertificates.ci.certPem, key: out.clientCertificates.ci.keyPem };
  for (const h of hosts) {
    expect((await tlsGet(h, { ca: out.caCertPem, ...ci })).status).toBe(200); // the control
    const noCert = await tlsGet(h, { ca: out.caCertPem });
    expect(noCert.status).toBeUndefined();
    expect(noCert.error).toMatch(/certificate|ECONNRESET|socket hang up/i);
    const intruder = await tlsGet(h, { ca: out.caCertPem, cert: otherCa.cert, key: otherCa.key });
    expect(intruder.status).toBeUndefined();
    expect(intruder.error).toMatch(/bad certificate|unknown ca|certificate|ECONNRESET/i);
    const wrongServerCa = await tlsGet(h, { ca: otherCa.ca, ...ci });
    expect(wrongServerCa.status).toBeUndefined();
    expect(wrongServerCa.error).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify|self.signed/i);
    const plain = await plainHttpGet(h);
    expect(plain.status === 200 || /ApiVersion/.test(plain.body ?? "")).toBe(false);
  }
});

test("3. file modes on the hosts; no private key in state, engine output or host command lines", async () => {
  for (const h of hosts) {
    const modes = await onHost(
      h,
      "stat -c '%n %a %U %G' /etc/docker /etc/docker/server-key.pem /etc/docker/server-cert.pem /etc/docker/ca.pem",
    );
    expect(modes.trim().split("\n")).toEqual([
      "/etc/docker 700 root root",
      "/etc/docker/server-key.pem 400 root root",
      "/etc/docker/server-cert.pem 444 root root",
      "/etc/docker/ca.pem 444 root root",
    ]);
  }
  // Distinctive lines of every key involved: the servers' (read on the hosts), the clients', the SSH key.
  const out = await outputs();
  const keys = [
    ...(await Promise.all(hosts.map((h) => onHost(h, "cat /etc/docker/server-key.pem")))),
    ...Object.values(out.clientCertificates).map((c) => c.keyPem),
    fs.readFileSync(sandbox.CLIENT_KEY, "utf8"),
  ];
  const needles = keys.flatMap((k) => k.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----")));
  expect(needles.length).toBeGreaterThan(keys.length);

  const stateFiles = execFileSync("find", [path.join(tmp, "state"), "-type", "f"])
    .toString()
    .trim()
    .split("\n");
  const haystacks: [string, string][] = [
    ["engine output", first.log],
    ...stateFiles.map((f) => [`state file ${f}`, fs.readFileSync(f, "latin1")] as [string, string]),
    ...Object.entries(cmdlines).map(([h, c]) => [`command lines on ${h}`, c] as [string, string]),
  ];
  expect(cmdlines.sbx1.split("\n").length).toBeGreaterThan(10); // the sampler saw processes
  for (const [what, text] of haystacks) {
    expect({ what, plaintextKey: /PRIVATE KEY-----/.test(text) }).toEqual({ what, plaintextKey: false });
    for (const n of needles) expect({ what, leaks: text.includes(n) }).toEqual({ what, leaks: false });
  }
});

test("4. a second up changes nothing, runs no command and restarts no daemon", async () => {
  const ids = await Promise.all(hosts.map(dockerdIdentity));
  const starts = await allStarts(hosts);
  const again = await up();
  expect(again.result.summary.result).toBe("succeeded");
  expect(Object.keys(again.result.summary.resourceChanges ?? {})).toEqual(["same"]);
  expect(again.ops).toEqual([]);
  expect(await Promise.all(hosts.map(dockerdIdentity))).toEqual(ids);
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 0, sbx2: 0 });
});

test("4b. the docker CLI's variables set for Pulumi: the program warns, naming each", async () => {
  // A user who exported the lines npm start prints, then runs pulumi directly (npm run pulumi
  // clears them). The upstream docker provider would apply DOCKER_HOST over the host's endpoint.
  const saved = { ...stack.workspace.envVars };
  Object.assign(stack.workspace.envVars, { DOCKER_HOST: "tcp://127.0.0.1:9", DOCKER_CONTEXT: "elsewhere" });
  let log = "";
  try {
    await stack.preview({ onOutput: (s) => (log += s) });
  } catch (e) {
    log += String((e as Error).message);
  } finally {
    for (const k of ["DOCKER_HOST", "DOCKER_CONTEXT"]) delete stack.workspace.envVars[k];
    Object.assign(stack.workspace.envVars, saved);
  }
  expect(log).toMatch(/warning: DOCKER_HOST is set \("tcp:\/\/127\.0\.0\.1:9"\)/);
  expect(log).toMatch(/warning: DOCKER_CONTEXT is set \("elsewhere"\)/);
  expect(log).not.toMatch(/DOCKER_CERT_PATH is set|DOCKER_TLS_VERIFY is set/);
});

let survivorPid: string;

test("5. adding a client: it works on every host; each daemon restarts once; containers survive", async () => {
  // A container from a tiny image made on the host (no registry is reachable).
  await onHost(hosts[0], sleeperContainer("survivor"));
  survivorPid = (await onHost(hosts[0], "docker inspect -f '{{.State.Running}} {{.State.Pid}}' survivor")).trim();
  expect(survivorPid).toMatch(/^true [1-9]\d*$/);

  const starts = await allStarts(hosts);
  await configure({ clients: ["ci", "alice", "bob"] });
  const run = await up();
  expect(run.result.summary.result).toBe("succeeded");
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 1, sbx2: 1 });
  const bob = await bundleFor("bob");
  for (const h of hosts) expect((await dockerCli(h, bob, ["version", "--format", "{{.Server.Version}}"])).code).toBe(0);
  expect((await onHost(hosts[0], "docker inspect -f '{{.State.Running}} {{.State.Pid}}' survivor")).trim()).toBe(survivorPid);
});

test("6. removing a client: its bundle is refused on every host, the others keep working", async () => {
  const alice = await bundleFor("alice");
  for (const h of hosts) expect((await dockerCli(h, alice, ["version"])).code).toBe(0);
  const starts = await allStarts(hosts);
  await configure({ clients: ["ci", "bob"] });
  const run = await up();
  expect(run.result.summary.result).toBe("succeeded");
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 1, sbx2: 1 });
  const ci = await bundleFor("ci");
  const bob = await bundleFor("bob");
  for (const h of hosts) {
    const refused = await dockerCli(h, alice, ["version", "--format", "{{.Server.Version}}"]);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/bad certificate|unknown certificate authority|certificate/i);
    expect((await dockerCli(h, ci, ["version"])).code).toBe(0);
    expect((await dockerCli(h, bob, ["version"])).code).toBe(0);
  }
  expect(Object.keys((await outputs()).clientCertificates).sort()).toEqual(["bob", "ci"]);
});

test("7. log-level for one host restarts that host only", async () => {
  const starts = await allStarts(hosts);
  await configure({ clients: ["ci", "bob"], hosts: { sbx1: { daemon: { logLevel: "debug" } } } });
  const run = await up();
  expect(run.result.summary.result).toBe("succeeded");
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 1, sbx2: 0 });
  expect(JSON.parse(await onHost(hosts[0], "cat /etc/docker/daemon.json"))["log-level"]).toBe("debug");
  expect(JSON.parse(await onHost(hosts[1], "cat /etc/docker/daemon.json"))["log-level"]).toBe("info");
  expect((await onHost(hosts[0], "docker inspect -f '{{.State.Running}} {{.State.Pid}}' survivor")).trim()).toBe(survivorPid);
});

test("7b. a registry mirror on both hosts: dockerd reloads (same process, no restart), and docker info over TLS shows it", async () => {
  const starts = await allStarts(hosts);
  const pids = await Promise.all(hosts.map(dockerdIdentity));
  const mirror = { registryMirrors: ["https://mirror.example.internal"] };
  await configure({ clients: ["ci", "bob"], hosts: { sbx1: { daemon: { logLevel: "debug", ...mirror } }, sbx2: { daemon: mirror } } });
  const run = await up();
  expect(run.result.summary.result).toBe("succeeded");
  expect(run.log).toContain("(settings dockerd applies on SIGHUP); reloading dockerd");
  expect(run.log).not.toContain("the reload did not hold");
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 0, sbx2: 0 });
  expect(await Promise.all(hosts.map(dockerdIdentity))).toEqual(pids);
  const bundle = await bundleFor("ci");
  for (const h of hosts) {
    const info = await dockerCli(h, bundle, ["info", "--format", "{{json .RegistryConfig.Mirrors}}"]);
    expect({ host: h.name, ...info }).toEqual({ host: h.name, code: 0, out: '["https://mirror.example.internal/"]\n' });
  }
});

test("8. a changed SAN reissues that host's server certificate only", async () => {
  const before = await outputs();
  const starts = await allStarts(hosts);
  await configure({
    clients: ["ci", "bob"],
    hosts: { sbx1: { daemon: { logLevel: "debug" } }, sbx2: { dnsNames: ["sbx2.sandbox.internal"] } },
  });
  const run = await up();
  expect(run.result.summary.result).toBe("succeeded");
  const reissued = run.ops.filter((o) => o.type.startsWith("tls:") && o.op !== "same").map((o) => o.name);
  expect([...new Set(reissued)].sort()).toEqual(["server-sbx2-cert", "server-sbx2-csr"]);
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 0, sbx2: 1 });
  const after = await outputs();
  expect(after.dockerHosts.sbx1.serverCertSha256).toBe(before.dockerHosts.sbx1.serverCertSha256);
  expect(after.dockerHosts.sbx2.serverCertSha256).not.toBe(before.dockerHosts.sbx2.serverCertSha256);
  const served = await tlsGet(hosts[1], {
    ca: after.caCertPem,
    cert: after.clientCertificates.ci.certPem,
    key: after.clientCertificates.ci.keyPem,
  });
  expect(served.san).toContain("DNS:sbx2.sandbox.internal");
  expect(served.sha256).toBe(after.dockerHosts.sbx2.serverCertSha256);
});

test("9. a setting dockerd rejects: up fails naming the host and quoting its log; the daemon keeps its last good config", async () => {
  const ci = await bundleFor("ci");
  const good = { sbx1: { daemon: { logLevel: "debug" } }, sbx2: { dnsNames: ["sbx2.sandbox.internal"] } };
  await configure({
    clients: ["ci", "bob"],
    hosts: {
      sbx1: { daemon: { logLevel: "debug", extra: { "no-such-option": true } } },
      sbx2: { dnsNames: ["sbx2.sandbox.internal"], daemon: { extra: { "no-such-option": true } } },
    },
  });
  let error = "";
  try {
    await up();
  } catch (e) {
    error = String((e as Error).message);
  }
  for (const h of hosts) {
    expect(error).toContain(`host ${h.name}: dockerd did not start with the new configuration`);
    expect((await dockerCli(h, ci, ["version"])).code).toBe(0);
    expect(await onHost(h, "cat /etc/docker/daemon.json")).not.toContain("no-such-option");
  }
  expect(error).toContain("Last lines of the daemon log");
  expect(error).toMatch(/no-such-option/);

  // Back to the good config: the hosts already run it, so nothing restarts.
  const starts = await allStarts(hosts);
  await configure({ clients: ["ci", "bob"], hosts: good });
  expect((await up()).result.summary.result).toBe("succeeded");
  expect(restarts(hosts, starts, await allStarts(hosts))).toEqual({ sbx1: 0, sbx2: 0 });
});

test("10. destroy: each host back to its original files, dockerd running, nothing on 2376", async () => {
  const result = await stack.destroy();
  destroyed = true;
  expect(result.summary.result).toBe("succeeded");
  for (const h of hosts) {
    expect(await onHost(h, ORIGINAL_STATE)).toBe(originals.get(h.name));
    expect((await onHost(h, "docker -H unix:///var/run/docker.sock info --format '{{.ServerVersion}}'")).trim()).not.toBe("");
    const listening = await onHost(h, "awk '$4 == \"0A\" && $2 ~ /:0948$/' /proc/net/tcp /proc/net/tcp6 | wc -l");
    expect(listening.trim()).toBe("0");
    expect((await tlsGet(h, { ca: otherCa.ca })).error).toMatch(/ECONNREFUSED/);
  }
});
