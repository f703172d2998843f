/**
 * Day-2 ownership on the sandbox, for real: the Pulumi engine and upstream plugins, the Automation
 * API with a file:// backend in a temp dir, two sandbox hosts (sbx1 with systemd as root, sbx2
 * without, through sudo).
 *
 * First, a stack without host key pins is refused (and warned about once it opts out). Then stack
 * `own-a` manages both hosts. In order: a second stack aimed at sbx1 is refused, naming the
 * owner, and sbx1 is untouched; renaming the entry sbx2 (same address) keeps the host secured and
 * its original files; the state folder deleted by hand on sbx1 is seen as drift and healed by
 * `up --refresh`; an SSH connection cut during an apply leaves the host secured and a rerun
 * converges; with a third, unreachable host, `up --continue-on-error` converges the other two
 * and names the third; destroy puts sbx2 back as it was before the first run.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";
import { ORIGINAL_STATE, TestHost, onHost, tlsGet } from "../support/hosts";
import { programDir, sandboxStack, tearDown } from "../support/program";
import { StackOutputs } from "../../scripts/lib/bundle";

let tmp: string;
let work: string;
let env: Record<string, string>;
let hosts: TestHost[];
let a: Stack;
const originals = new Map<string, string>();

/** A stack of this suite's program, with the sandbox's SSH key and known_hosts. */
async function newStack(name: string): Promise<Stack> {
  const s = await sandboxStack(name, work, env);
  await s.setConfig("docker-tls:clients", { value: JSON.stringify([{ name: "ci" }]) });
  return s;
}

const setHosts = (s: Stack, list: Record<string, unknown>[]) => s.setConfig("docker-tls:hosts", { value: JSON.stringify(list) });
const sbx1 = () => ({ name: "sbx1", address: hosts[0].address, init: "systemd" });
const sbx2 = (name = "sbx2") => ({ name, address: hosts[1].address, user: sandbox.SUDO_USER, init: "sysv" });

/** What a host's managed files and dockerd are now: hashes and modes, dockerd's pid and start time. */
const hostState = (h: TestHost) =>
  onHost(h, `${ORIGINAL_STATE}\npid=$(cat /var/run/docker.pid); echo "dockerd $pid $(cut -d ' ' -f 22 /proc/$pid/stat)"`);

const ownerOf = async (h: TestHost) => (await onHost(h, "head -n 1 /etc/docker/docker-tls/owner 2>/dev/null || echo none")).trim();

/** preview --refresh --expect-no-changes: undefined when it passes, else the CLI's output. */
async function changesSeen(s: Stack): Promise<string | undefined> {
  try {
    await s.preview({ refresh: true, expectNoChanges: true, color: "never" });
    return undefined;
  } catch (e) {
    return String((e as Error).message);
  }
}

/** GET /version on `h` over TLS with client `ci`'s bundle from the stack's outputs. */
async function withBundle(s: Stack, h: TestHost) {
  const out = Object.fromEntries(Object.entries(await s.outputs()).map(([k, v]) => [k, v.value])) as unknown as StackOutputs;
  const ci = out.clientCertificates.ci;
  return tlsGet(h, { ca: out.caCertPem, cert: ci.certPem, key: ci.keyPem });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-own-"));
  const status = await sandbox.up({ hosts: 2, kind: "mixed" });
  hosts = status.hosts.slice(0, 2).map((h) => ({ name: h.name, address: h.address, kind: h.kind as TestHost["kind"] }));
  expect(hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(["sbx1:systemd", "sbx2:plain"]);
  for (const h of hosts) originals.set(h.name, await onHost(h, ORIGINAL_STATE));
  work = programDir(path.join(tmp, "program"));
  fs.mkdirSync(path.join(tmp, "state"));
  env = { PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`, PULUMI_CONFIG_PASSPHRASE: "e2e-own" };
  a = await newStack("own-a");
  await setHosts(a, [sbx1(), sbx2()]);
});

afterAll(() => tearDown(a, tmp));

test("0. a host without a pinned SSH key is a config error, before any host is touched; the opt-out warns on every run", async () => {
  const before = await hostState(hosts[0]);
  const c = await LocalWorkspace.createStack({ stackName: "own-c", workDir: work }, { envVars: env });
  try {
    await c.setConfig("docker-tls:sshPrivateKey", { value: fs.readFileSync(sandbox.CLIENT_KEY, "utf8"), secret: true });
    await setHosts(c, [sbx1()]);
    const error = await c.up({ color: "never" }).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(error).toContain("hosts[0] (sbx1).hostKey: no pinned SSH host key");
    expect(error).toContain(`ssh-keyscan -t ed25519 -p 22 ${hosts[0].address}`);
    expect(await hostState(hosts[0])).toBe(before);

    await c.setConfig("docker-tls:insecureSkipHostKeyCheck", { value: "true" });
    for (let run = 0; run < 2; run++) {
      const preview = await c.preview({ color: "never" });
      expect(preview.stdout).toContain("host sbx1: its SSH host key is not checked (insecureSkipHostKeyCheck)");
    }
  } finally {
    await c.destroy({ color: "never" });
    await c.workspace.removeStack("own-c");
  }
  expect(await hostState(hosts[0])).toBe(before);
});

test("1. up: each host records its owner, PROJECT/STACK/ENTRY", async () => {
  expect((await a.up({ color: "never" })).summary.result).toBe("succeeded");
  expect(await ownerOf(hosts[0])).toBe("docker-tls/own-a/sbx1");
  expect(await ownerOf(hosts[1])).toBe("docker-tls/own-a/sbx2");
  // No staged or previous copy of the server key is left once the apply succeeded.
  const left = "find /etc/docker/docker-tls/next /etc/docker/docker-tls/prev -type f 2>/dev/null | wc -l";
  for (const h of hosts) expect((await onHost(h, left)).trim()).toBe("0");
});

test("2. a second stack aimed at an owned host is refused, naming the owner; the host is untouched", async () => {
  const before = await hostState(hosts[0]);
  const b = await newStack("own-b");
  try {
    await setHosts(b, [sbx1()]);
    const error = await b.up({ color: "never" }).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(error).toContain("host sbx1: is managed by docker-tls/own-a/sbx1 (project/stack/host entry)");
    expect(error).toContain("set takeOver: true");
    expect(await hostState(hosts[0])).toBe(before);
    expect(await ownerOf(hosts[0])).toBe("docker-tls/own-a/sbx1");
    expect((await withBundle(a, hosts[0])).status).toBe(200);
  } finally {
    await b.destroy({ color: "never" });
    await b.workspace.removeStack("own-b");
  }
  expect(await hostState(hosts[0])).toBe(before);
});

test("3. a host entry renamed (same address): still secured, its bundle works, drift is clean, the originals kept", async () => {
  await setHosts(a, [sbx1(), sbx2("sbx2b")]);
  const r = await a.up({ color: "never" });
  expect(r.summary.result).toBe("succeeded");
  // The old entry's delete steps ran last and left the host to its new owner.
  expect(r.stdout).toContain("the host is managed by docker-tls/own-a/sbx2b now; leaving it as it is");
  expect(await ownerOf(hosts[1])).toBe("docker-tls/own-a/sbx2b");
  const answer = await withBundle(a, hosts[1]);
  expect(answer.status).toBe(200);
  expect(answer.san).toContain(`IP Address:${hosts[1].address}`);
  expect(await changesSeen(a)).toBeUndefined();
  // The host's original files are still the backup (destroy, in 5, puts them back).
  expect(await onHost(hosts[1], "cat /etc/docker/docker-tls/backup/etc-docker.mode")).toBe(
    `${originals.get("sbx2")!.match(/^\/etc\/docker (\d+)$/m)![1]}\n`,
  );
});

test("4. the state folder deleted by hand: seen as drift, healed by up --refresh", async () => {
  await onHost(hosts[0], "rm -rf /etc/docker/docker-tls");
  const seen = await changesSeen(a);
  expect(seen).toMatch(/audit-sbx1-state.*owner/s);
  expect((await a.up({ refresh: true, color: "never" })).summary.result).toBe("succeeded");
  expect(await ownerOf(hosts[0])).toBe("docker-tls/own-a/sbx1");
  expect(await changesSeen(a)).toBeUndefined();
  expect((await withBundle(a, hosts[0])).status).toBe(200);
});

test("5. the SSH connection cut during an apply: the host finishes it with TLS; a rerun converges", async () => {
  // A change that restarts dockerd on sbx1 only.
  await setHosts(a, [{ ...sbx1(), daemon: { logLevel: "warn" } }, sbx2("sbx2b")]);
  // On sbx1: wait for the apply step's script to be installing (the restart marked pending), then
  // kill the sshd session that runs it (not ours:
  // this script's own session runs `sh -s`), so the connection drops in the middle of the apply.
  const cut = onHost(
    hosts[0],
    `i=0; pid=""
while [ $i -lt 1200 ] && [ -z "$pid" ]; do
  [ -e /etc/docker/docker-tls/restart-pending ] && pid=$(pgrep -f "the list of files on stdin is incomplete" | head -n 1)
  sleep 0.05; i=$((i + 1))
done
[ -n "$pid" ] || { echo "no apply seen"; exit 0; }
p=$pid
while [ "$p" -gt 1 ]; do
  case "$(cat /proc/$p/cmdline | tr '\\0' ' ')" in *@notty*) kill -9 "$p"; echo "cut $p"; exit 0 ;; esac
  p=$(awk '{ print $4 }' /proc/$p/stat)
done
echo "no session found"`,
  );
  const error = await a.up({ color: "never" }).then(
    () => "",
    (e: Error) => e.message,
  );
  expect(await cut).toMatch(/^cut \d+/);
  expect(error).toMatch(/host-sbx1-apply/);
  // The script went on without its connection: the new configuration is in place, dockerd serves TLS.
  let finished = "";
  for (let i = 0; i < 60 && finished !== "done"; i++) {
    finished = (
      await onHost(
        hosts[0],
        "[ -e /etc/docker/docker-tls/restart-pending ] || [ -d /etc/docker/docker-tls/prev ] && echo busy || echo done",
      )
    ).trim();
    if (finished !== "done") await new Promise((r) => setTimeout(r, 1000));
  }
  expect(finished).toBe("done");
  expect(await onHost(hosts[0], 'grep -c \'"log-level": "warn"\' /etc/docker/daemon.json')).toBe("1\n");
  expect((await withBundle(a, hosts[0])).status).toBe(200);
  // The rerun finds the host done: it converges without another restart, and the stack is clean.
  expect((await a.up({ color: "never" })).summary.result).toBe("succeeded");
  expect(await changesSeen(a)).toBeUndefined();
  expect((await withBundle(a, hosts[0])).status).toBe(200);
});

test("6. three hosts, one unreachable: with --continue-on-error the other two converge and the error names the third", async () => {
  // Pinned like the others: sbx1's key will do, nothing answers at that sandbox address.
  const line = fs
    .readFileSync(sandbox.KNOWN_HOSTS, "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[0].split(",").includes(hosts[0].address));
  const down = { name: "sbx3", address: "10.203.0.19", hostKey: line!.slice(1, 3).join(" ") };
  // A new client: every reachable host must be reconfigured to accept it.
  await a.setConfig("docker-tls:clients", { value: JSON.stringify([{ name: "ci" }, { name: "bob" }]) });
  await setHosts(a, [sbx1(), sbx2("sbx2b"), down]);
  const error = await a.up({ continueOnError: true, color: "never" }).then(
    () => "",
    (e: Error) => e.message,
  );
  expect(error).toMatch(/host-sbx3-probe/);
  expect(error).toMatch(/10\.203\.0\.19/);
  for (const h of hosts) {
    const out = Object.fromEntries(Object.entries(await a.outputs()).map(([k, v]) => [k, v.value])) as unknown as StackOutputs;
    const bob = out.clientCertificates.bob;
    expect((await tlsGet(h, { ca: out.caCertPem, cert: bob.certPem, key: bob.keyPem })).status).toBe(200);
  }
  // The host taken out of the config: the stack converges.
  await setHosts(a, [sbx1(), sbx2("sbx2b")]);
  expect((await a.up({ color: "never" })).summary.result).toBe("succeeded");
  expect(await changesSeen(a)).toBeUndefined();
});

test("7. destroy: the renamed host is back to its original files; the one whose state was lost keeps its TLS files", async () => {
  const r = await a.destroy({ color: "never" });
  expect(r.summary.result).toBe("succeeded");
  expect(await onHost(hosts[1], ORIGINAL_STATE)).toBe(originals.get("sbx2"));
  // sbx1's originals were deleted with its state folder: destroy says so and leaves its files.
  expect(r.stdout).toContain("the program's state folder was lost before");
  expect((await onHost(hosts[0], "docker -H unix:///var/run/docker.sock info --format '{{.ServerVersion}}'")).trim()).not.toBe("");
});
