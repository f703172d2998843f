/**
 * The endpoint check's version probe (render/node/version-probe.js), run as EndpointCheck runs it
 * (`node -e TEXT`, the credentials on stdin) against a local HTTPS server that demands a client
 * certificate, as dockerd with tlsverify does.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { foreignClient, selfSigned } from "../support/openssl";

const PROBE = fs.readFileSync(path.join(__dirname, "../../render/node/version-probe.js"), "utf8");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-version-probe-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The daemon's certificate, self-signed, for 127.0.0.1 (an IP SAN: what the probe must check).
const daemon = selfSigned(tmp, "daemon", "daemon", "IP:127.0.0.1");
const client = foreignClient(fs.mkdtempSync(path.join(tmp, "client-")));
const stranger = foreignClient(fs.mkdtempSync(path.join(tmp, "stranger-")));

let server: https.Server;
let port: number;
beforeAll(async () => {
  server = https.createServer({ ...daemon, requestCert: true, rejectUnauthorized: true, ca: [client.ca] }, (req, res) => {
    res.writeHead(req.url === "/version" ? 200 : 404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ Version: "27.5.1", ApiVersion: "1.47", Os: "linux", Arch: "amd64" }));
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Runs the probe as EndpointCheck does, asynchronously (the server runs in this process). */
function probe(input: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, ["-e", PROBE]);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin!.end(JSON.stringify(input));
  });
}

test("with the daemon's CA and an accepted client certificate: the daemon's version as JSON", async () => {
  const r = await probe({ host: `tcp://127.0.0.1:${port}`, ca: daemon.cert, cert: client.cert, key: client.key });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ version: "27.5.1", apiVersion: "1.47", os: "linux", arch: "amd64" });
});

test("a client certificate the daemon does not accept fails, naming the endpoint", async () => {
  const r = await probe({ host: `tcp://127.0.0.1:${port}`, ca: daemon.cert, cert: stranger.cert, key: stranger.key });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(new RegExp(`^tcp://127\\.0\\.0\\.1:${port}: `));
});

test("a daemon whose certificate does not chain to ca.pem fails (no answer is read from it)", async () => {
  const r = await probe({ host: `tcp://127.0.0.1:${port}`, ca: stranger.ca, cert: client.cert, key: client.key });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/certificate/i);
});
