/**
 * The resource graph of index.ts under pulumi.runtime.setMocks: which resources exist, how they
 * are parented, what goes into certificates and remote commands, and what is secret. Behaviour on
 * real hosts is proven by the e2e suite.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PKI_DEFAULTS } from "../../config";
import { utcSeconds } from "../../components/expiry";
import { isSecretInput, plain } from "../support/mocks";
import { selfSigned } from "../support/openssl";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string;
}

// A real certificate, so that fingerprints can be computed from the mocked outputs.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-unit-"));
const CERT = selfSigned(tmp, "mock", "mock").cert;
const FAKE_KEY = "-----BEGIN EC PRIVATE KEY-----\nMOCK-PRIVATE-KEY\n-----END EC PRIVATE KEY-----\n";
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-SSH-KEY\n-----END OPENSSH PRIVATE KEY-----\n";
fs.writeFileSync(path.join(tmp, "id"), SSH_KEY);

const resources: Recorded[] = [];
const invokes: { token: string; args: Record<string, unknown>; provider?: string }[] = [];

// Expiry, relative to when the mock issues the certificate: far off, but for three that the
// program must warn about (half a day off the whole days, so that "in N days" is the same at any
// moment of the run). The defaults: warned about from 60 days before expiry, reissued from 30.
const DAY_MS = 86_400_000;
const EXPIRING: Record<string, number> = {
  "server-sbx2-cert": 10.5, // inside the renew-before window
  "client-alice-issuer-cert": 45.5, // inside the warning window only
  "client-docker-tls-check-cert": -3.5, // expired
};
/** A certificate issued before pki.leafValidityHours changed: the state keeps its own validity. */
const ISSUED_FOR: Record<string, { validityPeriodHours: number }> = { "server-sbx1-cert": { validityPeriodHours: 4380 } };
/** The validityEndTime the mock gave each certificate resource, by name. */
const notAfterOf: Record<string, string> = {};
const validityEndTime = (name: string) =>
  (notAfterOf[name] = new Date(Date.now() + (EXPIRING[name] ?? 2 * 365) * DAY_MS).toISOString().replace(/\.\d{3}Z$/, "Z"));

function outputsFor(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return { ...inputs, privateKeyPem: `${FAKE_KEY}${name}`, publicKeyPem: "PUB" };
    case "tls:index/certRequest:CertRequest":
      return { ...inputs, certRequestPem: `CSR ${name}` };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { ...inputs, ...ISSUED_FOR[name], certPem: CERT, validityEndTime: validityEndTime(name) };
    case "command:remote:Command":
      return {
        ...inputs,
        stdout: name.endsWith("-probe") ? "=== daemon.json\nABSENT\n=== default-docker\nABSENT\n=== execstart\nABSENT\n" : "",
        stderr: "",
      };
    case "command:local:Command":
      return { ...inputs, stdout: '{"version":"20.10.24","apiVersion":"1.41"}', stderr: "" };
    default:
      return inputs;
  }
}

function setConfig(hosts: unknown[], clients: unknown[] = [{ name: "ci" }, { name: "alice" }]) {
  pulumi.runtime.setAllConfig({
    "docker-tls:hosts": JSON.stringify(hosts),
    "docker-tls:clients": JSON.stringify(clients),
    "docker-tls:sshPrivateKeyPath": path.join(tmp, "id"),
  });
}

const HOSTS = [
  { name: "sbx1", address: "10.203.0.11", dnsNames: ["sbx1.sandbox.internal"], hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA" },
  // Unpinned on purpose (its own opt-out): the connection of a host without a pinned key.
  { name: "sbx2", address: "10.203.0.12", user: "deploy", init: "sysv", insecureSkipHostKeyCheck: true },
];

/** Resolves an Output (or plain value) in the mock runtime. */
const value = <T>(o: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));

let program: Record<string, unknown>;
/** pulumi.log.warn of the program's own copy of @pulumi/pulumi (jest.isolateModules gives it one). */
let warn: jest.SpyInstance;

/**
 * The hook compiles and imports the whole program (ts-jest, @pulumi/*) and lets every mocked
 * registration finish: seconds on a laptop, more than Jest's 5 s default on a loaded 2-core CI
 * machine. A generous limit, so that only a hang fails it.
 */
const IMPORT_TIMEOUT_MS = 60_000;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
        return { id: `${args.name}-id`, state: outputsFor(args.type, args.name, args.inputs) };
      },
      call: (args) => {
        invokes.push({ token: args.token, args: args.inputs, provider: args.provider });
        return args.token === "docker:index/getNetwork:getNetwork" ? { id: "net-host", name: "host", driver: "host" } : {};
      },
    },
    "docker-tls",
    "unit",
    false,
  );
  setConfig(HOSTS);
  jest.isolateModules(() => {
    warn = jest.spyOn((require("@pulumi/pulumi") as typeof pulumi).log, "warn");
    program = require("../../index");
  });
  // Let every registration and invoke finish.
  await value(program.dockerHosts as pulumi.Output<unknown>);
  await new Promise((r) => setTimeout(r, 100));
}, IMPORT_TIMEOUT_MS);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const byName = (name: string) => {
  const r = resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}; have ${resources.map((x) => x.name).join(", ")}`);
  return r;
};

test("the graph: components and their children", () => {
  const names = resources.map((r) => `${r.type} ${r.name}`);
  expect(names).toEqual(
    expect.arrayContaining([
      "dockertls:pki:CertificateAuthority ca",
      "tls:index/privateKey:PrivateKey ca-key",
      "tls:index/selfSignedCert:SelfSignedCert ca-cert",
      "dockertls:pki:ClientCertificate client-ci",
      "dockertls:pki:CertificateAuthority client-ci-issuer",
      "tls:index/locallySignedCert:LocallySignedCert client-ci-cert",
      "dockertls:pki:ClientCertificate client-docker-tls-check",
      "dockertls:pki:ServerCertificate server-sbx1",
      "tls:index/certRequest:CertRequest server-sbx1-csr",
      "dockertls:host:DockerHost host-sbx2",
      "command:remote:Command host-sbx2-probe",
      "command:remote:Command host-sbx2-upload",
      "command:remote:Command host-sbx2-apply",
      "dockertls:host:EndpointCheck check-sbx1",
      "pulumi:providers:docker check-sbx1-provider",
      "command:local:Command check-sbx1-version",
    ]),
  );
  // One CA, three client identities (ci, alice and the program's own checker), two hosts.
  expect(resources.filter((r) => r.type === "dockertls:pki:ClientCertificate")).toHaveLength(3);
  expect(resources.filter((r) => r.type === "command:remote:Command")).toHaveLength(6);
});

test("the CA signs certificates and CRLs only", () => {
  expect(byName("ca-cert").inputs).toMatchObject({ isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"] });
  expect(byName("ca-key").inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
  expect(byName("client-ci-issuer-cert").inputs).toMatchObject({ isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"] });
});

test("certificate lifetimes are the config's pki settings (its defaults here)", () => {
  const { caValidityHours, leafValidityHours, renewBeforeHours } = PKI_DEFAULTS;
  expect(byName("ca-cert").inputs).toMatchObject({ validityPeriodHours: caValidityHours, earlyRenewalHours: renewBeforeHours });
  expect(byName("client-ci-issuer-cert").inputs).toMatchObject({
    validityPeriodHours: caValidityHours,
    earlyRenewalHours: renewBeforeHours,
  });
  for (const leaf of ["client-ci-cert", "client-docker-tls-check-cert", "server-sbx2-cert"]) {
    expect(byName(leaf).inputs).toMatchObject({ validityPeriodHours: leafValidityHours, earlyRenewalHours: renewBeforeHours });
  }
});

test("server certificates: server_auth only, SANs of the host plus localhost", () => {
  expect(byName("server-sbx1-cert").inputs.allowedUses).toEqual(["digital_signature", "server_auth"]);
  expect(byName("server-sbx1-csr").inputs).toMatchObject({
    subject: { commonName: "sbx1", organization: "docker-tls" },
    dnsNames: ["localhost", "sbx1.sandbox.internal"],
    ipAddresses: ["10.203.0.11", "127.0.0.1"],
  });
});

test("client certificates: client_auth only, CN is the client's name, signed by its own issuer", () => {
  expect(byName("client-alice-cert").inputs.allowedUses).toEqual(["digital_signature", "client_auth"]);
  expect(byName("client-alice-csr").inputs).toMatchObject({ subject: { commonName: "alice" } });
  expect(isSecretInput(byName("client-alice-cert").inputs.caPrivateKeyPem)).toBe(true);
  expect(plain(byName("client-alice-cert").inputs.caPrivateKeyPem)).toBe(`${FAKE_KEY}client-alice-issuer-key`);
});

test("the daemons trust the issuers of every current client and of the checker", async () => {
  const manifest = byName("host-sbx1-apply").inputs.stdin as string;
  expect(manifest).toMatch(/^[0-9a-f]{64} 444 \/etc\/docker\/ca\.pem [0-9a-f]{64}$/m);
  expect(manifest).toMatch(/^[0-9a-f]{64} 400 \/etc\/docker\/server-key\.pem [0-9a-f]{64}$/m);
  expect(manifest).toMatch(/^[0-9a-f]{64} 644 \/etc\/systemd\/system\/docker\.service\.d\/docker-tls\.conf [0-9a-f]{64}$/m);
  expect(byName("host-sbx2-apply").inputs.stdin).toMatch(/ 644 \/etc\/default\/docker [0-9a-f]{64}$/m);
  const stdin = byName("host-sbx1-upload").inputs.stdin;
  expect(isSecretInput(stdin)).toBe(true);
  const payload = Buffer.concat(
    (plain(stdin) as string)
      .split(/^FILE\n|^END\n/m)
      .filter((s) => s.trim())
      .map((b) => Buffer.from(b, "base64")),
  ).toString();
  // ca.pem holds three issuer certificates: ci, alice and the checker.
  expect(payload.split("BEGIN CERTIFICATE").length - 1).toBe(1 + 3); // server-cert.pem + bundle
  expect(payload).toContain(`${FAKE_KEY}server-sbx1-key`);
});

test("keys travel on stdin only, never in a command line, and the upload is never logged", () => {
  for (const r of resources.filter((x) => x.type.startsWith("command:"))) {
    for (const field of ["create", "update", "delete"]) {
      expect(String(r.inputs[field] ?? "")).not.toMatch(/PRIVATE KEY|MOCK-/);
    }
  }
  expect(byName("host-sbx1-upload").inputs.logging).toBe("none");
  expect(byName("host-sbx2-apply").inputs.stdin).not.toMatch(/PRIVATE KEY/);
  expect(byName("host-sbx2-apply").inputs.create).toMatch(/^sudo -n sh -c /);
  expect(byName("host-sbx1-apply").inputs.create).toMatch(/^sh -c /);
  const connection = byName("host-sbx1-apply").inputs.connection as Record<string, unknown>;
  expect(plain(connection)).toMatchObject({ host: "10.203.0.11", port: 22, user: "root", hostKey: HOSTS[0].hostKey, privateKey: SSH_KEY });
  // The SSH key is a secret in state (the mock records the whole connection as secret).
  expect(isSecretInput(connection) || isSecretInput(connection.privateKey)).toBe(true);
});

test("the endpoint check uses the program's own client through a TLS docker provider", () => {
  expect(byName("check-sbx2-provider").inputs).toMatchObject({ host: "tcp://10.203.0.12:2376", certMaterial: CERT });
  const call = invokes.find((i) => i.token === "docker:index/getNetwork:getNetwork");
  expect(call?.args).toEqual({ name: "host" });
  expect(call?.provider).toMatch(/check-sbx\d-provider/);
});

test("every key output is secret; versions and fingerprints are not", async () => {
  const clients = program.clientCertificates as Record<string, Record<string, pulumi.Output<string>>>;
  expect(Object.keys(clients).sort()).toEqual(["alice", "ci"]);
  for (const c of Object.values(clients)) {
    expect(await pulumi.isSecret(c.keyPem)).toBe(true);
    expect(await pulumi.isSecret(c.certPem)).toBe(false);
  }
  const hosts = program.dockerHosts as Record<string, Record<string, pulumi.Output<string>>>;
  expect(await value(hosts.sbx1.dockerHost)).toBe("tcp://10.203.0.11:2376");
  expect(await value(hosts.sbx1.dockerVersion)).toBe("20.10.24");
  expect(await value(hosts.sbx1.serverCertSha256)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  expect(await pulumi.isSecret(hosts.sbx1.dockerVersion)).toBe(false);
});

test("the stack outputs are the CA, the clients and the hosts; the checker's name is none of them", () => {
  expect(Object.keys(program).sort()).toEqual(["caCertPem", "caNotAfter", "caRotation", "clientCertificates", "dockerHosts", "security"]);
});

test("every certificate's expiry is an output: the CA's, each client's and its issuer's, each server's", async () => {
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
  expect(await value(program.caNotAfter as pulumi.Output<string>)).toMatch(iso);
  const clients = program.clientCertificates as Record<string, Record<string, pulumi.Output<string>>>;
  expect(await value(clients.alice.notAfter)).toMatch(iso);
  expect(await value(clients.alice.issuerNotAfter)).toBe(notAfterOf["client-alice-issuer-cert"]);
  const hosts = program.dockerHosts as Record<string, Record<string, pulumi.Output<string>>>;
  expect(await value(hosts.sbx2.serverCertNotAfter)).toBe(notAfterOf["server-sbx2-cert"]);
});

test("a certificate issued for another validity than pki.leafValidityHours keeps it until it is next issued, and a warning says so", async () => {
  const said = warn.mock.calls.map(([msg]) => String(msg)).filter((m) => m.includes(" was issued for "));
  expect(said).toEqual([
    "certificate server-sbx1 was issued for 4380 hours; pki.leafValidityHours (8760) applies when it is next issued " +
      "(its renewal, or npm run rotate), not to this certificate",
  ]);
});

test("preview and up warn about each certificate within pki.warnBeforeHours, on its component, saying which up reissues it and what does now", async () => {
  const certificateWarnings = warn.mock.calls.filter(
    ([msg]) => String(msg).startsWith("certificate ") && !String(msg).includes(" was issued for "),
  );
  const said = await Promise.all(
    certificateWarnings.map(async ([msg, resource]) => `${await value((resource as pulumi.Resource).urn)}: ${msg}`),
  );
  const urn = (type: string, name: string) => `urn:pulumi:unit::docker-tls::${type}::${name}`;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const checker = urn("dockertls:pki:ClientCertificate", "client-docker-tls-check");
  const issuer = urn("dockertls:pki:ClientCertificate$dockertls:pki:CertificateAuthority", "client-alice-issuer");
  const server = urn("dockertls:pki:ServerCertificate", "server-sbx2");
  const renewFrom = utcSeconds(Date.parse(notAfterOf["client-alice-issuer-cert"]) - 720 * 3_600_000);
  expect(said).toHaveLength(3);
  expect(said).toEqual(
    expect.arrayContaining([
      `${checker}: certificate client-docker-tls-check (the program's own client for the endpoint checks) ` +
        `expired ${notAfterOf["client-docker-tls-check-cert"]}, 3 days ago, yet this run keeps it; ` +
        "reissue it with: npm run rotate -- --stack unit --client docker-tls-check",
      `${server}: certificate server-sbx2 (server of host sbx2) expires ${notAfterOf["server-sbx2-cert"]}, in 10 days, ` +
        "and is inside the renew-before window (30 days), yet this run keeps it; reissue it with: npm run rotate -- --stack unit --host sbx2",
      // rotate keeps a client's issuer: its certificate resource is replaced (by its URN, as the runtime made it).
      expect.stringMatching(
        new RegExp(
          "^" +
            escape(
              `${issuer}: certificate client-alice-issuer (issuer of client alice) expires ${notAfterOf["client-alice-issuer-cert"]}, ` +
                `in 45 days; the first pulumi up after ${renewFrom}, inside the renew-before window (30 days), reissues it ` +
                "(now: npm run pulumi -- up --stack unit --replace 'urn:pulumi:unit::docker-tls::",
            ) +
            "[^']*::client-alice-issuer-cert'\\)$",
        ),
      ),
    ]),
  );
});
