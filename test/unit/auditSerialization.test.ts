/**
 * The audit's dynamic provider as Pulumi stores it: serialized the way pulumi.dynamic.Resource
 * does (pulumi.runtime.serializeFunction of `() => provider`), then loaded from that text alone, as
 * the dynamic-provider process loads it (no ts-node, none of this project's modules). Every method
 * runs there: read, create and update against a port of this machine where no SSH server answers
 * (so the inspection, the inspect script's rendering, the SSH client and the TLS probe all run),
 * diff and delete as they are. driftProgram.test.ts does the same through the program's registration.
 */
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import * as pulumi from "@pulumi/pulumi";
import { HOST_AUDIT_STATE_TYPE, flatten } from "../../components/audit/compare";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { provider } from "../../components/audit/provider";
import { expectedState } from "./auditFixtures";
import { renderManifest } from "../../render/scripts";
import { testHost } from "../support/config";
import { selfSigned } from "../support/openssl";

const SECRET = "-----BEGIN OPENSSH PRIVATE KEY-----\nSERIALIZATION-TEST-KEY\n-----END OPENSSH PRIVATE KEY-----\n";

let text: string;
let loaded: Required<pulumi.dynamic.ResourceProvider>;

beforeAll(async () => {
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
  text = serialized.text;
  const requireFromString = require("require-from-string") as (code: string) => { handler: () => unknown };
  loaded = requireFromString(text).handler() as Required<pulumi.dynamic.ResourceProvider>;
}, 60_000);

/** A port of this machine that nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** Inputs of the state resource for a host at a closed port of this machine. */
async function inputs(): Promise<Record<string, unknown>> {
  const port = await closedPort();
  const host = testHost({ address: "127.0.0.1" });
  const files = ["/etc/docker/ca.pem", "/etc/docker/daemon.json", "/etc/docker/server-cert.pem", "/etc/docker/server-key.pem"];
  const manifest = renderManifest(files.map((p) => ({ path: p, mode: "0444", content: p })));
  const manifestWithDropIn =
    manifest + renderManifest([{ path: "/etc/systemd/system/docker.service.d/docker-tls.conf", mode: "0644", content: "x" }]);
  const expected = expectedState(host, manifestWithDropIn, "AB:CD");
  return {
    ...flatten({ ...expected, port }),
    host: "web1",
    init: "systemd",
    connection: { host: "127.0.0.1", port, user: "root", sudo: false, hostKey: "", hostKeyAlgorithm: "", privateKey: SECRET },
    heal: { command: "true", manifest: manifestWithDropIn },
    timeoutSeconds: 5,
  };
}

test("the type token is what pulumi.dynamic.Resource registers", () => {
  expect(HOST_AUDIT_STATE_TYPE).toBe("pulumi-nodejs:dynamic/dockertls:HostAuditState");
});

test("the serialized text is plain JavaScript with the inspect script inside, and nothing of the program's other modules", () => {
  expect(text).toContain("exports.handler");
  // render/sh/inspect.sh and render/sh/security.sh, captured as strings; the checks stay on the program's side.
  expect(text).toContain("listening yes");
  expect(text).toContain("listen.source ss");
  expect(text).toContain("parseSecurity");
  expect(text).not.toMatch(/securityChecks|hostSecurity/);
  expect(text).not.toMatch(/ts-node|ts-jest|renderApplyScript|renderUploadPayload|@pulumi\/pulumi|SERIALIZATION-TEST-KEY/);
  // Modules are required where they run, not captured.
  expect(text).toContain('require("ssh2")');
  expect(text).toContain('require("tls")');
  expect(text).toContain('require("crypto")');
});

test("all five methods are there", () => {
  expect(Object.keys(loaded).sort()).toEqual(["create", "delete", "diff", "read", "update"]);
});

test("read: an unreachable host is an observation, not an exception", async () => {
  const props = await inputs();
  const r = await loaded.read("web1-1", props);
  expect(r.id).toBe("web1-1");
  const observed = r.props.observed as Record<string, unknown>;
  expect(observed).toMatchObject({
    reachable: false,
    port: props.port,
    serverCertSha256: "",
    serverCertNotAfter: "",
    requireClientCert: false,
  });
  expect(observed.error).toMatch(/^cannot reach root@127\.0\.0\.1:\d+ over SSH: /);
  // The state's inputs become the observation, in their shape: unreachable.
  expect(r.inputs).toMatchObject({ host: "web1", reachable: false });
  // The dynamic-provider process sends read's props and inputs as protobuf Structs, with nothing
  // in between to drop an undefined (create's outputs go through Pulumi's serializer instead).
  expect(() => Struct.fromJavaScript(r.props as Record<string, never>)).not.toThrow();
  expect(() => Struct.fromJavaScript(r.inputs as Record<string, never>)).not.toThrow();
  expect(r.inputs).not.toHaveProperty("observed");
}, 30_000);

test("read: the TLS probe's certificate fingerprint and expiry, with only JavaScript's globals to read them", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-serialized-"));
  const { cert, key } = selfSigned(dir, "server", "probe");
  fs.rmSync(dir, { recursive: true, force: true });
  const x509 = new X509Certificate(cert);
  const server = tls.createServer({ cert, key }, (s) => s.end());
  const tlsPort = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
  );
  try {
    const r = await loaded.read("web1-1", { ...(await inputs()), port: tlsPort });
    expect(r.props.observed).toMatchObject({
      reachable: false,
      serverCertSha256: x509.fingerprint256,
      serverCertNotAfter: new Date(x509.validTo).toISOString().replace(/\.000Z$/, "Z"),
    });
  } finally {
    server.close();
  }
}, 30_000);

test("create and update: an unreachable host fails with the host's name (a plain Error)", async () => {
  const props = await inputs();
  await expect(loaded.create(props)).rejects.toThrow(/^host web1: cannot reach root@127\.0\.0\.1:\d+ over SSH: /);
  await expect(loaded.update("web1-1", props, props)).rejects.toThrow(/^host web1: cannot reach /);
}, 30_000);

test("diff and delete", async () => {
  const props = await inputs();
  const observed = { reachable: false, error: "down" };
  expect(await loaded.diff("web1-1", { ...props, observed }, props)).toEqual({ changes: true, replaces: ["reachable"] });
  await expect(loaded.delete("web1-1", props)).resolves.toBeUndefined();
});
