/**
 * A CA rotation's phase 1 in the resource graph (index.ts under pulumi.runtime.setMocks): with
 * pki.caGeneration 2 and pki.trustPreviousCa, the CA of generation 2 (`ca-g2`) issues every server
 * certificate, the first one (`ca`, as it was named before) stays, and the clients' ca.pem holds
 * both. The rotation on real hosts is in test/e2e/lifecycle.test.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { caRenewal } from "../../components/expiry";
import { selfSigned } from "../support/openssl";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-unit-ca-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// Server certificates must parse (their fingerprint is computed); CAs are told apart by name.
const LEAF = selfSigned(tmp, "leaf", "leaf").cert;
const caPem = (name: string) => `-----BEGIN CERTIFICATE-----\nCA-${name}\n-----END CERTIFICATE-----\n`;
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK\n-----END OPENSSH PRIVATE KEY-----\n";
fs.writeFileSync(path.join(tmp, "id"), SSH_KEY);

const resources: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
let program: Record<string, unknown>;
/** pulumi.log.warn of the program's own copy of @pulumi/pulumi (jest.isolateModules gives it one). */
let warn: jest.SpyInstance;
const CA_NOT_AFTER = new Date(Date.now() + 10.5 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const value = <T>(o: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "tls:index/selfSignedCert:SelfSignedCert") Object.assign(state, { certPem: caPem(args.name) });
        if (args.type === "tls:index/locallySignedCert:LocallySignedCert") Object.assign(state, { certPem: LEAF });
        if (args.type.startsWith("tls:") && args.type.endsWith("Cert"))
          Object.assign(state, { validityStartTime: "2026-11-30T00:00:00Z", validityEndTime: "2027-11-30T00:00:00Z" });
        // Both CAs within the warning window: only the one that signs the servers' is warned about.
        if (args.name === "ca-cert" || args.name === "ca-g2-cert") state.validityEndTime = CA_NOT_AFTER;
        if (args.type === "tls:index/privateKey:PrivateKey")
          state.privateKeyPem = `-----BEGIN EC PRIVATE KEY-----\n${args.name}\n-----END EC PRIVATE KEY-----\n`;
        if (args.type === "command:remote:Command" && args.name.endsWith("-probe"))
          state.stdout = "=== daemon.json\nABSENT\n=== default-docker\nABSENT\n=== execstart\nABSENT\n";
        if (args.type === "command:local:Command") state.stdout = '{"version":"20.10.24"}';
        if (args.type.includes("HostAuditState")) state.observed = { reachable: true };
        return { id: `${args.name}-id`, state };
      },
      call: () => ({ id: "net-host", name: "host", driver: "host" }),
    },
    "docker-tls",
    "unit",
    false,
  );
  pulumi.runtime.setAllConfig({
    "docker-tls:hosts": JSON.stringify([{ name: "web1", address: "192.0.2.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA" }]),
    "docker-tls:clients": JSON.stringify([{ name: "ci" }]),
    "docker-tls:pki": JSON.stringify({ caGeneration: 2, trustPreviousCa: true }),
    "docker-tls:sshPrivateKeyPath": path.join(tmp, "id"),
  });
  jest.isolateModules(() => {
    warn = jest.spyOn((require("@pulumi/pulumi") as typeof pulumi).log, "warn");
    program = require("../../index");
  });
  await value(program.dockerHosts as pulumi.Output<unknown>);
  await new Promise((r) => setTimeout(r, 100));
}, 60_000);

const byName = (name: string) => resources.find((r) => r.name === name);

test("both CAs exist: generation 1 under its old name, generation 2 beside it, with its generation in its CN", () => {
  expect(byName("ca")?.type).toBe("dockertls:pki:CertificateAuthority");
  expect(byName("ca-g2")?.type).toBe("dockertls:pki:CertificateAuthority");
  const cn = (name: string) => (byName(name)?.inputs.subject as { commonName: string }).commonName;
  expect(cn("ca-cert")).toBe("docker-tls CA (docker-tls/unit)");
  expect(cn("ca-g2-cert")).toBe("docker-tls CA (docker-tls/unit) g2");
});

test("the server certificate is issued by generation 2; the clients' ca.pem holds generation 2, then 1", async () => {
  expect(byName("server-web1-cert")?.inputs.caCertPem).toBe(caPem("ca-g2-cert"));
  expect(await value(program.caCertPem as pulumi.Output<string>)).toBe(caPem("ca-g2-cert") + caPem("ca-cert"));
  expect(((await value(program.caRotation as pulumi.Output<{ phase: string }>)) as { phase: string }).phase).toMatch(
    /^1: generations 2 and 1 trusted; once every client has the new ca\.pem, set pki\.trustPreviousCa to false$/,
  );
});

test("expiry: the CA that signs the servers' certificates is warned about, with the two-phase rotation to renew it; the previous one is not", () => {
  const said = warn.mock.calls.map(([msg]) => String(msg)).filter((m) => /^certificate ca(-g\d+)? /.test(m));
  expect(said).toEqual([
    `certificate ca-g2 (the CA that signs every server certificate, the clients' ca.pem) expires ${CA_NOT_AFTER}, in 10 days, ` +
      `and is inside the renew-before window (30 days), yet this run keeps it; reissue it with: ${caRenewal("unit", 2)}`,
  ]);
  expect(caRenewal("unit", 2)).toBe(
    'a CA rotation in two phases (pki.caGeneration 3 with pki.trustPreviousCa true, then pulumi up; README, "CA rotation in two phases"), ' +
      "or at once npm run rotate -- --stack unit --ca (every client then needs the new ca.pem)",
  );
});
