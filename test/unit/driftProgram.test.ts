/**
 * The drift audits in index.ts's resource graph, under pulumi.runtime.setMocks: one HostAudit per
 * host, its state resource fed from DockerHost (manifest, apply command) and the server
 * certificate, with the SSH key a secret and nothing secret in the serialized provider.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { isSecretInput, plain } from "../support/mocks";
import { managedPaths } from "./auditFixtures";
import { HOST_AUDIT_STATE_TYPE, SETTINGS } from "../../components/audit/compare";
import { selfSigned } from "../support/openssl";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-unit-drift-"));
const CERT = selfSigned(tmp, "mock", "mock").cert;
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-SSH-KEY-FOR-THE-AUDIT\n-----END OPENSSH PRIVATE KEY-----\n";

const resources: Recorded[] = [];

const AUDIT_STATE = HOST_AUDIT_STATE_TYPE;
interface TestHostEntry {
  name: string;
  address: string;
  hostKey?: string;
  user?: string;
  init?: string;
  port?: number;
  insecureSkipHostKeyCheck?: boolean;
  security?: Record<string, unknown>;
}
const HOSTS: TestHostEntry[] = [
  // Its docker group enforced: the allowed members are wanted by its audit (drift) and in its apply step.
  {
    name: "sbx1",
    address: "10.203.0.11",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",
    security: { dockerGroup: ["bob", "alice"], enforceDockerGroup: true },
  },
  // Unpinned on purpose (its own opt-out): the connection of a host without a pinned key.
  { name: "sbx2", address: "10.203.0.12", user: "deploy", init: "sysv", insecureSkipHostKeyCheck: true, port: 2222 },
];

const value = <T>(o: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));

let program: Record<string, unknown>;

/**
 * The hook compiles and imports the whole program (ts-jest, @pulumi/*) and waits for both audits to
 * register: seconds on a laptop, more than Jest's 5 s default on a loaded 2-core CI machine. A
 * generous limit, so that only a hang fails it.
 */
const IMPORT_TIMEOUT_MS = 60_000;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.startsWith("tls:") && args.type.endsWith("Cert"))
          Object.assign(state, { certPem: CERT, validityEndTime: "2027-11-28T00:00:00Z" });
        if (args.type === "tls:index/privateKey:PrivateKey")
          state.privateKeyPem = `-----BEGIN EC PRIVATE KEY-----\nMOCK\n-----END EC PRIVATE KEY-----\n${args.name}`;
        if (args.type === "command:remote:Command") {
          state.stdout = args.name.endsWith("-probe") ? "=== daemon.json\nABSENT\n=== default-docker\nABSENT\n=== execstart\nABSENT\n" : "";
        }
        if (args.type === "command:local:Command") state.stdout = '{"version":"20.10.24"}';
        if (args.type === AUDIT_STATE) state.observed = { reachable: true };
        return { id: `${args.name}-id`, state };
      },
      call: () => ({ id: "net-host", name: "host", driver: "host" }),
    },
    "docker-tls",
    "unit-drift",
    false,
  );
  fs.writeFileSync(path.join(tmp, "id"), SSH_KEY);
  pulumi.runtime.setAllConfig({
    "docker-tls:hosts": JSON.stringify(HOSTS),
    "docker-tls:clients": JSON.stringify([{ name: "ci" }]),
    "docker-tls:sshPrivateKeyPath": path.join(tmp, "id"),
  });
  jest.isolateModules(() => {
    program = require("../../index");
  });
  await value(program.dockerHosts as pulumi.Output<unknown>);
  // The serialized provider is the slowest input: wait until both audits are registered.
  for (let i = 0; i < 100 && resources.filter((r) => r.type === AUDIT_STATE).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
}, IMPORT_TIMEOUT_MS);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const byName = (name: string) => {
  const r = resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}; have ${resources.map((x) => x.name).join(", ")}`);
  return r;
};

test("each host gets a HostAudit with its state resource", () => {
  const names = resources.map((r) => `${r.type} ${r.name}`);
  for (const h of HOSTS) {
    expect(names).toContain(`dockertls:host:HostAudit audit-${h.name}`);
    expect(names).toContain(`${AUDIT_STATE} audit-${h.name}-state`);
  }
  expect(resources.filter((r) => r.type === AUDIT_STATE)).toHaveLength(HOSTS.length);
});

test("the connection: the host's address, port, user, sudo, pinned key and its algorithm; the SSH key a secret", () => {
  for (const h of HOSTS) {
    const connection = byName(`audit-${h.name}-state`).inputs.connection as Record<string, unknown>;
    expect(isSecretInput(connection) || isSecretInput(connection.privateKey)).toBe(true);
    expect(plain(connection)).toEqual({
      host: h.address,
      port: h.port ?? 22,
      user: h.user ?? "root",
      sudo: h.user !== undefined,
      hostKey: h.hostKey ?? "",
      hostKeyAlgorithm: h.hostKey?.split(" ")[0] ?? "",
      privateKey: SSH_KEY,
    });
  }
});

test("what is wanted comes from DockerHost and the server certificate; healing is DockerHost's upload and apply steps", () => {
  for (const h of HOSTS) {
    const audit = plain(byName(`audit-${h.name}-state`).inputs) as Record<string, unknown>;
    const apply = byName(`host-${h.name}-apply`).inputs;
    const upload = byName(`host-${h.name}-upload`).inputs;
    const manifest = apply.stdin as string;
    expect(audit.heal).toEqual({ command: apply.create, manifest, upload: { command: upload.create, payload: plain(upload.stdin) } });
    // The payload holds the server key: a secret in the audit's inputs too.
    const heal = byName(`audit-${h.name}-state`).inputs.heal as Record<string, unknown>;
    expect(isSecretInput(heal) || isSecretInput((heal.upload as Record<string, unknown>).payload)).toBe(true);
    expect(audit.init).toBe(h.init ?? "systemd");
    // Each managed file is an input of its own, with the manifest's hash and mode.
    for (const p of managedPaths((h.init ?? "systemd") as "systemd" | "sysv")) {
      const line = manifest.split("\n").find((l) => l.split(" ")[2] === p);
      expect(line).toBeDefined();
      const [sha256, mode] = line!.split(" ");
      expect(audit[p]).toEqual({ sha256, mode, owner: "root:root" });
    }
    // dockerGroup is wanted only with security.enforceDockerGroup (sbx1), sorted.
    for (const k of SETTINGS.filter((k) => k !== "dockerGroup")) expect(audit).toHaveProperty(k);
    if (h.name === "sbx1") expect(audit.dockerGroup).toEqual(["alice", "bob"]);
    else expect(audit).not.toHaveProperty("dockerGroup");
    expect(audit.securityPlan).toMatchObject({ port: 2376, enforceDockerGroup: h.name === "sbx1", daemon: {} });
    // The apply command is the script in single quotes: its own quotes appear as '\''.
    expect(apply.create).toContain(h.name === "sbx1" ? "DOCKER_GROUP_ENFORCE='\\''yes'\\''" : "DOCKER_GROUP_ENFORCE='\\''no'\\''");
    expect(audit).toMatchObject({ reachable: true, running: true, tlsverify: true, requireClientCert: true, port: 2376 });
    expect(audit.serverCertSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  }
});

test("the serialized provider holds no secret and no key", () => {
  for (const h of HOSTS) {
    const serialized = byName(`audit-${h.name}-state`).inputs.__provider;
    expect(isSecretInput(serialized)).toBe(false);
    expect(typeof serialized).toBe("string");
    expect(serialized as string).toContain("exports.handler");
    expect(serialized as string).not.toMatch(/MOCK-SSH-KEY|PRIVATE KEY-----\n/);
  }
});

test("the serialized provider loads as the dynamic-provider process loads it (no ts-node) and works", async () => {
  const requireFromString = require("require-from-string") as (code: string) => { handler: () => Record<string, unknown> };
  const loaded = requireFromString(
    byName("audit-sbx1-state").inputs.__provider as string,
  ).handler() as Required<pulumi.dynamic.ResourceProvider>;
  expect(Object.keys(loaded).sort()).toEqual(["create", "delete", "diff", "read", "update"]);
  const inputs = plain(byName("audit-sbx1-state").inputs) as Record<string, unknown>;
  const wanted = Object.fromEntries(
    Object.entries(inputs).filter(([k]) => k.startsWith("/") || (SETTINGS as readonly string[]).includes(k)),
  );
  const files = Object.fromEntries(Object.entries(wanted).filter(([k]) => k.startsWith("/")));
  const observed = { ...wanted, files, endpoint: "TLS" };
  expect(await loaded.diff("id", { ...inputs, observed }, inputs)).toEqual({ changes: false });
  const drifted = { ...observed, running: false };
  expect(await loaded.diff("id", { ...inputs, observed: drifted }, inputs)).toEqual({ changes: true, replaces: ["running"] });
});

test("the security output: per host, the checks of its audit's observation (here one without facts: unknown, not pass)", async () => {
  const security = program.security as Record<string, pulumi.Output<Record<string, unknown>>>;
  expect(Object.keys(security).sort()).toEqual(["sbx1", "sbx2"]);
  const s = (await value(security.sbx2)) as { pass: number; fail: number; unknown: number; checks: { id: string; status: string }[] };
  expect(s.fail).toBe(0);
  expect(s.checks.length).toBe(s.pass + s.unknown + (s as unknown as { warn: number }).warn);
  expect(s.checks.find((c) => c.id === "access.docker-group")?.status).toBe("unknown");
});
