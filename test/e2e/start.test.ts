/**
 * `npm start` and `npm run stop` as a user runs them, from a shell that exported the docker CLI's
 * variables: DOCKER_HOST at the local socket and a DOCKER_CONTEXT, as after using another daemon.
 * The upstream docker provider would apply them over each host's endpoint (environment.ts); the
 * toolchain clears them for Pulumi, so both sandbox hosts are secured and answer over TLS.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../support/program";

function npm(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("npm", args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-start-"));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("npm start secures both hosts with DOCKER_HOST and DOCKER_CONTEXT exported; npm run stop undoes it", async () => {
  const env = {
    ...process.env,
    DOCKER_HOST: "unix:///var/run/docker.sock",
    DOCKER_CONTEXT: "elsewhere",
    // Its own backend, so that a developer's sandbox stack is left alone.
    PULUMI_BACKEND_URL: `file://${tmp}`,
  };
  const start = await npm(["start"], env);
  try {
    expect({ code: start.code, tail: start.code === 0 ? "" : start.stderr.slice(-3000) }).toEqual({ code: 0, tail: "" });
    // start.ts ran the real docker CLI over TLS against each host with the ci bundle.
    expect(start.stderr).toMatch(/^sbx1: docker \S+ \(API [\d.]+, linux\/amd64\); server certificate SHA-256 [0-9A-F:]{95}$/m);
    expect(start.stderr).toMatch(/^sbx2: docker \S+ \(API [\d.]+, linux\/amd64\); server certificate SHA-256 [0-9A-F:]{95}$/m);
    expect(start.stdout).toMatch(/^export DOCKER_HOST=tcp:\/\/10\.203\.0\.11:2376$/m);
    // The program saw none of the variables: no warning about them.
    expect(`${start.stdout}${start.stderr}`).not.toMatch(/DOCKER_HOST is set|DOCKER_CONTEXT is set/);
  } finally {
    const stop = await npm(["run", "stop"], env);
    expect({ code: stop.code, tail: stop.code === 0 ? "" : stop.stderr.slice(-3000) }).toEqual({ code: 0, tail: "" });
  }
});
