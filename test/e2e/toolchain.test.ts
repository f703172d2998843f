/**
 * The toolchain for real: the engine built from source, upstream's Node.js language host and
 * upstream's tls, command and docker plugins (from the plugin directory, see toolchain/build.sh),
 * driving a tiny stack on a file:// backend against a dockerd that this test starts. It fails if
 * any plugin does not load, reports another version, or is not upstream's binary.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";

const ROOT = path.resolve(__dirname, "..", "..");
const pins = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies as Record<string, string>;

const PROGRAM = `
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as tls from "@pulumi/tls";

const key = new tls.PrivateKey("key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const hello = new command.local.Command("hello", { create: "echo hello from $NAME", environment: { NAME: "the command plugin" } });
const provider = new docker.Provider("local", { host: process.env.TOOLCHAIN_TEST_DOCKER_HOST });
const net = docker.getNetworkOutput({ name: "host" }, { provider });

export const publicKey = key.publicKeyOpenssh;
export const privateKey = key.privateKeyPem;
export const said = hello.stdout;
export const network = { id: net.id, driver: net.driver };
`;

let tmp: string;
let dockerd: ChildProcess | undefined;
let dockerHost: string;

async function startDockerd(dir: string): Promise<string> {
  const sock = path.join(dir, "docker.sock");
  const log = fs.openSync(path.join(dir, "dockerd.log"), "w");
  // A private daemon: its own data, exec root, socket and no networking of its own.
  dockerd = spawn(
    "dockerd",
    [
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/docker.pid`,
      `-H`,
      `unix://${sock}`,
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
    ],
    { stdio: ["ignore", log, log], detached: true },
  );
  for (let i = 0; i < 120; i++) {
    if (fs.existsSync(sock)) {
      try {
        execFileSync("docker", ["-H", `unix://${sock}`, "version"], { stdio: "pipe" });
        return `unix://${sock}`;
      } catch {
        // not ready yet
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`dockerd did not start: ${fs.readFileSync(path.join(dir, "dockerd.log"), "utf8").slice(-2000)}`);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-toolchain-"));
  dockerHost = await startDockerd(fs.mkdtempSync(path.join(tmp, "d")));
});

afterAll(async () => {
  if (dockerd?.pid) {
    process.kill(dockerd.pid, "SIGTERM");
    await new Promise((r) => dockerd?.once("exit", r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("pulumi and the plugins report the versions package.json pins", () => {
  expect(execFileSync("pulumi", ["version"]).toString().trim()).toBe(`v${pins["@pulumi/pulumi"]}`);
  const plugins = JSON.parse(execFileSync("pulumi", ["plugin", "ls", "--json"]).toString()) as {
    name: string;
    kind: string;
    version: string;
  }[];
  const versions = Object.fromEntries(plugins.filter((p) => p.kind === "resource").map((p) => [p.name, p.version]));
  expect(versions).toEqual(
    expect.objectContaining({ tls: pins["@pulumi/tls"], command: pins["@pulumi/command"], docker: pins["@pulumi/docker"] }),
  );
});

/** The directory build.sh takes plugin binaries from, as it resolves it. */
const PLUGIN_DIR = process.env.DOCKER_TLS_PLUGIN_DIR ?? path.resolve(ROOT, "..", "shared", "upstream-plugins");
const PULUMI_HOME = process.env.PULUMI_HOME ?? path.join(ROOT, ".pulumi-home");
const reported = (kind: string, binary: string) =>
  execFileSync("node", [path.join(ROOT, "toolchain", "plugin-info.js"), kind, binary])
    .toString()
    .trim()
    .replace(/^v/, "");

const upstream = fs.existsSync(PLUGIN_DIR) ? test : test.skip;

upstream("the installed plugins and the language host are upstream's binaries from the plugin directory", () => {
  for (const [name, pin] of [
    ["tls", "@pulumi/tls"],
    ["command", "@pulumi/command"],
    ["docker", "@pulumi/docker"],
  ]) {
    const installed = path.join(PULUMI_HOME, "plugins", `resource-${name}-v${pins[pin]}`, `pulumi-resource-${name}`);
    const ours = fs.readFileSync(installed);
    expect(ours.equals(fs.readFileSync(path.join(PLUGIN_DIR, `pulumi-resource-${name}`)))).toBe(true);
    expect(reported("resource", installed)).toBe(pins[pin]);
  }
  // The engine runs the language host found next to its own binary.
  const bin = path.dirname(fs.realpathSync(execFileSync("which", ["pulumi"]).toString().trim()));
  const langhost = path.join(bin, "pulumi-language-nodejs");
  expect(fs.readFileSync(langhost).equals(fs.readFileSync(path.join(PLUGIN_DIR, "pulumi-language-nodejs")))).toBe(true);
  expect(reported("language", langhost)).toMatch(/^3\.\d+\.\d+$/);
  // No stand-in is left to build.
  for (const dir of ["provider-tls", "provider-command", "provider-docker", "language-nodejs"]) {
    expect(fs.existsSync(path.join(ROOT, "toolchain", dir))).toBe(false);
  }
});

upstream("a plugin directory without the pinned plugin is a clear error naming it and how to install it", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "plugins-"));
  for (const f of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs", "pulumi-resource-tls"]) {
    fs.symlinkSync(path.join(PLUGIN_DIR, f), path.join(dir, f));
  }
  // A binary under the wrong name reports another version than the pin: refused, not installed.
  fs.symlinkSync(path.join(PLUGIN_DIR, "pulumi-resource-tls"), path.join(dir, "pulumi-resource-command"));
  const env = {
    ...process.env,
    HOME: dir,
    PULUMI_HOME: "",
    DOCKER_TLS_PLUGIN_DIR: dir,
    DOCKER_TLS_PULUMI_HOME: path.join(dir, "home"),
    DOCKER_TLS_TOOLCHAIN: "build",
    // Keep the engine cache, so that the engine is not built again.
    DOCKER_TLS_CACHE: path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "docker-tls"),
  };
  const r = spawnSync("bash", [path.join(ROOT, "toolchain", "build.sh")], { env, encoding: "utf8" });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`no upstream command plugin ${pins["@pulumi/command"]}`);
  expect(r.stderr).toContain(`pulumi-resource-command reports ${pins["@pulumi/tls"]}`);
  expect(r.stderr).toContain(`pulumi plugin install resource command ${pins["@pulumi/command"]}`);
  expect(fs.existsSync(path.join(dir, "home", "plugins", `resource-command-v${pins["@pulumi/command"]}`))).toBe(false);
});

test("a real up and destroy with tls, command and docker", async () => {
  const work = path.join(tmp, "program");
  fs.mkdirSync(work);
  fs.writeFileSync(path.join(work, "Pulumi.yaml"), "name: toolchain-check\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
  fs.writeFileSync(path.join(work, "package.json"), JSON.stringify({ name: "toolchain-check", main: "index.ts" }));
  fs.writeFileSync(
    path.join(work, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs" } }),
  );
  fs.writeFileSync(path.join(work, "index.ts"), PROGRAM);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(work, "node_modules"));
  fs.mkdirSync(path.join(tmp, "state"));

  const stack: Stack = await LocalWorkspace.createStack(
    { stackName: "check", workDir: work },
    {
      envVars: {
        PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "toolchain-test",
        TOOLCHAIN_TEST_DOCKER_HOST: dockerHost,
      },
    },
  );
  try {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.publicKey.value).toMatch(/^ecdsa-sha2-nistp256 AAAA/);
    expect(up.outputs.privateKey.secret).toBe(true);
    expect(up.outputs.said.value).toBe("hello from the command plugin");
    expect(up.outputs.network.value.driver).toBe("host");
    const hostNetworkId = execFileSync("docker", ["-H", dockerHost, "network", "inspect", "host", "--format", "{{.Id}}"]).toString().trim();
    expect(up.outputs.network.value.id).toBe(hostNetworkId);

    // Plugins are loaded from the project's PULUMI_HOME, at the pinned versions.
    const state = JSON.stringify((await stack.exportStack()).deployment);
    for (const [name, pin] of [
      ["tls", "@pulumi/tls"],
      ["command", "@pulumi/command"],
      ["docker", "@pulumi/docker"],
    ]) {
      expect(state).toContain(`"version":"${pins[pin]}"`);
      expect(state).toContain(`pulumi:providers:${name}`);
    }
    // On disk, the backend holds the key only encrypted.
    const files = execFileSync("find", [path.join(tmp, "state"), "-type", "f", "-name", "*.json*"])
      .toString()
      .trim()
      .split("\n");
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(fs.readFileSync(f).toString()).not.toContain("PRIVATE KEY");
  } finally {
    const destroy = await stack.destroy();
    expect(destroy.summary.result).toBe("succeeded");
    await stack.workspace.removeStack("check");
  }
});
