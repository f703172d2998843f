/**
 * The sandbox itself, for real (root on Linux): for each kind of host, `up` two hosts, reach them
 * over SSH as root and as the sudo user, talk to dockerd over each host's unix socket, check that
 * /etc/docker is per host, then `down` and look for anything left behind on the machine; and
 * up/down/up again. Timings are printed at the end.
 *
 * It shares the fixed names (sbx1…, dtlsbr0) with every other sandbox user: run e2e files one at
 * a time (`jest --runInBand`), never alongside `npm start`.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as sandbox from "../../sandbox";
import { sleeperContainer } from "../support/hosts";

const canRun = process.platform === "linux" && process.getuid?.() === 0;
const describeIfRoot = canRun ? describe : describe.skip;

const timings: string[] = [];
const lines: string[] = [];
const log = (line: string) => lines.push(line);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${label}: ${((Date.now() - start) / 1000).toFixed(2)} s`);
  }
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}

/** A process is alive unless gone or a zombie (PID 1 here reaps orphans late). */
function alive(pid: number): boolean {
  try {
    const state = /^State:\s+([A-Z])/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return state !== undefined && state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Every process in the sandbox's cgroups right now (read straight from cgroupfs). */
function sandboxPids(): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
    }
    for (const p of fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n")) if (p) pids.add(Number(p));
  };
  for (const h of fs.readdirSync("/sys/fs/cgroup")) {
    const group = path.join("/sys/fs/cgroup", h, "dtls-sandbox");
    if (fs.existsSync(group)) walk(group);
  }
  return [...pids];
}

/** What `down` must not leave behind; `before` are the sandbox's processes taken while it was up. */
function leftovers(before: number[]): string[] {
  const found: string[] = [];
  const netns = sh("ip", ["netns", "list"])
    .split("\n")
    .filter((l) => l.startsWith("dtls-"));
  if (netns.length) found.push(`netns: ${netns.join(", ")}`);
  const links = sh("ip", ["-o", "link", "show"])
    .split("\n")
    .filter((l) => /: (dtls-|dtlsbr0)/.test(l));
  if (links.length) found.push(`links: ${links.join(" | ")}`);
  const mounts = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(sandbox.STATE_DIR) || l.includes(" dtls-") || l.includes("/run/systemd/nspawn"));
  if (mounts.length) found.push(`mounts: ${mounts.join(" | ")}`);
  const cgroups = fs.readdirSync("/sys/fs/cgroup").filter((h) => fs.existsSync(path.join("/sys/fs/cgroup", h, "dtls-sandbox")));
  if (cgroups.length) found.push(`cgroups in: ${cgroups.join(", ")}`);
  for (const table of ["filter", "nat"]) {
    const rules = sh("iptables", ["-w", "-t", table, "-S"])
      .split("\n")
      .filter((l) => l.includes(sandbox.BRIDGE));
    if (rules.length) found.push(`iptables ${table}: ${rules.join(" | ")}`);
  }
  const survivors = before.filter(alive);
  if (survivors.length) found.push(`processes: ${survivors.join(" ")}`);
  if (fs.existsSync("/run/netns") && fs.readdirSync("/run/netns").some((n) => n.startsWith("dtls-"))) found.push("/run/netns entries");
  return found;
}

async function onHost(host: sandbox.HostRef, argv: string[], user: sandbox.SshUser = "root") {
  return sandbox.runOnHost(host, argv, { user, allowFail: true, timeoutMs: 60_000 });
}

/** SSH as root and deploy, docker over the unix socket, a per-host /etc/docker, kind specifics. */
async function checkHosts(hosts: sandbox.HostStatus[], kinds: sandbox.HostKind[]): Promise<void> {
  expect(hosts.map((h) => [h.name, h.kind, h.address])).toEqual(kinds.map((k, i) => [`sbx${i + 1}`, k, `10.203.0.${11 + i}`]));
  const knownHosts = fs.readFileSync(sandbox.KNOWN_HOSTS, "utf8");
  for (const h of hosts) {
    expect(h.running).toBe(true);
    expect(h.docker).toBe("active");
    expect(h.hostKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
    expect(knownHosts).toContain(`${h.address} ${h.hostKey}`);
    expect(h.sshCommand).toBe(`ssh -i ${sandbox.CLIENT_KEY} -o UserKnownHostsFile=${sandbox.KNOWN_HOSTS} root@${h.address}`);

    expect((await onHost(h, ["id", "-un"])).stdout.trim()).toBe("root");
    expect((await onHost(h, ["hostname"])).stdout.trim()).toBe(h.name);
    const deploy = await onHost(h, ["sh", "-c", 'id -un && sudo -n true && echo "sudo ok"'], "deploy");
    expect(deploy.stdout.split("\n")).toEqual(["deploy", "sudo ok", ""]);

    const info = await onHost(h, ["docker", "-H", "unix:///var/run/docker.sock", "info", "--format", "{{.ServerVersion}} {{.Name}}"]);
    expect(info.code).toBe(0);
    expect(info.stdout.trim()).toMatch(new RegExp(`^\\S+ ${h.name}$`));
    // Stock configuration before the program touches it.
    expect((await onHost(h, ["test", "-e", "/etc/docker/daemon.json"])).code).toBe(1);

    if (h.kind === "systemd") {
      expect((await onHost(h, ["systemctl", "is-active", "docker"])).stdout.trim()).toBe("active");
      expect((await onHost(h, ["test", "-d", "/run/systemd/system"])).code).toBe(0);
    } else {
      expect((await onHost(h, ["sh", "-c", "command -v systemctl"])).code).not.toBe(0);
      expect((await onHost(h, ["service", "docker", "status"])).stdout).toMatch(/docker is running/);
    }
  }

  // /etc/docker belongs to each host: a marker written on the first is absent on the others.
  const marker = `/etc/docker/sandbox-test-${process.pid}`;
  const write = await sandbox.runOnHost(hosts[0], ["sh", "-c", 'cat > "$1"', "sh", marker], { input: "marker\n" });
  expect(write.code).toBe(0);
  expect((await onHost(hosts[0], ["cat", marker])).stdout).toBe("marker\n");
  for (const other of hosts.slice(1)) expect((await onHost(other, ["test", "-e", marker])).code).toBe(1);
  expect(fs.existsSync(marker)).toBe(false);

  // Hosts reach each other across the bridge (sshd's banner, read by bash's /dev/tcp).
  const banner = await onHost(hosts[0], ["bash", "-c", `exec 3<>/dev/tcp/${hosts[1].address}/22; head -c 4 <&3`]);
  expect(banner.stdout).toBe("SSH-");
}

/** A container from a tiny image made on the host: `down` must take it away too. */
async function startContainer(host: sandbox.HostStatus): Promise<void> {
  const script = `${sleeperContainer("sbx-sleeper", "sbx-tiny:1")}
docker inspect -f '{{.State.Running}}' sbx-sleeper`;
  expect((await sandbox.runScriptOnHost(host, script)).stdout.trim()).toBe("true");
}

describeIfRoot("sandbox", () => {
  beforeAll(async () => {
    await timed("initial down (clean slate)", () => sandbox.down({ log }));
  });

  afterAll(async () => {
    try {
      await sandbox.down({ log });
    } finally {
      process.stdout.write(`\nsandbox timings:\n  ${timings.join("\n  ")}\n\nsandbox steps:\n  ${lines.join("\n  ")}\n`);
    }
  });

  describe.each(["systemd", "plain", "mixed"] as const)("%s hosts", (kind) => {
    const kinds: sandbox.HostKind[] = kind === "mixed" ? ["systemd", "plain"] : [kind, kind];
    let hosts: sandbox.HostStatus[];

    test("up --hosts 2: SSH as root and deploy (sudo), docker on the unix socket, own /etc/docker", async () => {
      hosts = (await timed(`${kind}: up 2 hosts`, () => sandbox.up({ hosts: 2, kind, log }))).hosts;
      await checkHosts(hosts, kinds);
    });

    test("up again keeps the running hosts", async () => {
      const again = await timed(`${kind}: up again (no-op)`, () => sandbox.up({ hosts: 2, kind, log }));
      expect(again.hosts.map((h) => h.pids.main)).toEqual(hosts.map((h) => h.pids.main));
    });

    test("down leaves no process, namespace, link, mount, cgroup or iptables rule", async () => {
      await Promise.all(hosts.map(startContainer));
      const before = [...sandboxPids(), ...hosts.map((h) => h.pids.main)];
      expect(before.length).toBeGreaterThan(4);
      await timed(`${kind}: down 2 hosts (with a container each)`, () => sandbox.down({ log }));
      expect(leftovers(before)).toEqual([]);
      expect((await sandbox.status()).hosts).toEqual([]);
      // Kept for the next up: the client key (a stack config may point to it).
      expect(fs.statSync(sandbox.CLIENT_KEY).mode & 0o777).toBe(0o600);
    });

    test("up, down, up again: same addresses and host keys, fresh hosts", async () => {
      const second = (await timed(`${kind}: up 2 hosts (again)`, () => sandbox.up({ hosts: 2, kind, log }))).hosts;
      expect(second.map((h) => [h.address, h.hostKey])).toEqual(hosts.map((h) => [h.address, h.hostKey]));
      const marker = `/etc/docker/sandbox-test-${process.pid}`;
      expect((await onHost(second[0], ["test", "-e", marker])).code).toBe(1);
      for (const h of second) expect((await onHost(h, ["docker", "info", "--format", "{{.Name}}"])).stdout.trim()).toBe(h.name);
      const before = [...sandboxPids(), ...second.map((h) => h.pids.main)];
      await timed(`${kind}: down 2 hosts`, () => sandbox.down({ log }));
      expect(leftovers(before)).toEqual([]);
    });
  });
});
