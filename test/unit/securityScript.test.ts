/**
 * The security audit's script (render/sh/security.sh behind its quoted prelude), run here against a
 * folder standing for `/` (ROOT) and fake tools first on PATH, or a PATH without them: what it prints
 * is parsed by parseSecurity as the audit does. No host, no network beyond loopback.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parseSecurity } from "../../components/audit/facts";
import { parseInspect } from "../../components/audit/inspect";
import { TLS_PATHS } from "../../render/daemon";
import { renderAuditScript, renderSecurityScript } from "../../render/scripts";
import { pathWithout } from "../support/bin";

const tmpDirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-sec-"));
  tmpDirs.push(d);
  return d;
};
const servers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

const write = (root: string, file: string, text: string, mode = 0o644) => {
  const p = path.join(root, file);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  fs.chmodSync(p, mode);
  return p;
};
const ownerOf = (p: string) => execFileSync("stat", ["-c", "%U:%G", p]).toString().trim();

/** A folder standing for a host's `/`: its group and passwd files, /etc/docker, the kernel's answers. */
async function fakeRoot(): Promise<string> {
  const root = tmpDir();
  write(root, "etc/group", "root:x:0:\ndocker:x:999:alice,eve\nstaff:x:50:\n");
  write(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nsvc:x:998:999::/:/bin/false\n");
  fs.mkdirSync(path.join(root, "etc/docker"), { mode: 0o700 });
  fs.chmodSync(path.join(root, "etc/docker"), 0o700);
  write(root, "etc/docker/daemon.json", "{}\n");
  write(root, TLS_PATHS.clientCaBundle.slice(1), "CA\n", 0o444);
  write(root, TLS_PATHS.serverCert.slice(1), "CERT\n", 0o444);
  write(root, TLS_PATHS.serverKey.slice(1), "KEY\n", 0o600);
  write(root, "lib/systemd/system/docker.service", "[Service]\n");
  write(root, "sys/module/apparmor/parameters/enabled", "Y\n");
  write(root, "sys/kernel/security/apparmor/profiles", "docker-default (enforce)\nsshd (enforce)\n");
  fs.mkdirSync(path.join(root, "sys/fs/cgroup"), { recursive: true });
  write(
    root,
    "proc/net/tcp",
    [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000:0948 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0",
      "   1: 0100007F:0947 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0",
      "   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0",
      "",
    ].join("\n"),
  );
  // dockerd's socket: a real unix socket, mode 666 (what the audit must catch).
  const sock = path.join(root, "var/run/docker.sock");
  fs.mkdirSync(path.dirname(sock), { recursive: true });
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((r) => server.listen(sock, r));
  fs.chmodSync(sock, 0o666);
  return root;
}

/**
 * A folder of commands put first on PATH: each `name` runs `body` (sh). `without` names tools to
 * hide: then PATH is made of links to every other program of /usr/bin and /usr/sbin, so that
 * `command -v` does not find them.
 */
function toolPath(tools: Record<string, string>, without: string[] = []): string {
  const dir = tmpDir();
  for (const [name, body] of Object.entries(tools)) fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  if (without.length === 0) return `${dir}:${process.env.PATH}`;
  const farm = pathWithout(tmpDir(), without);
  return `${dir}:${farm}`;
}

const run = (root: string, PATH: string) => {
  const r = spawnSync("/bin/sh", ["-c", renderSecurityScript({ tlsPaths: TLS_PATHS, rootDir: root })], { env: { PATH }, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
};

const INFO = {
  SecurityOptions: ["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"],
  CgroupVersion: "2",
  LiveRestoreEnabled: true,
  ServerVersion: "20.10.24",
  Name: "web1",
};

test("the rendered script: a prelude of quoted values, then render/sh/security.sh", () => {
  const script = renderSecurityScript({ tlsPaths: TLS_PATHS });
  expect(script.split("\n").slice(0, 4)).toEqual([
    "ROOT=''",
    "TLS_CA='/etc/docker/ca.pem'",
    "TLS_CERT='/etc/docker/server-cert.pem'",
    "TLS_KEY='/etc/docker/server-key.pem'",
  ]);
  expect(script).toMatchSnapshot();
  // A path with quotes and `$(...)` stays one value, never code.
  const odd = renderSecurityScript({ tlsPaths: { ...TLS_PATHS, serverKey: "/tmp/it's $(echo no)" }, rootDir: "/nonexistent" });
  expect(execFileSync("sh", ["-c", odd]).toString()).toContain("stat.tlskey - - - /nonexistent/tmp/it's $(echo no)\n");
});

test("with every tool: getent, systemctl, ss and docker give the group, the socket unit, the listeners and dockerd's view", async () => {
  const root = await fakeRoot();
  fs.mkdirSync(path.join(root, "run/systemd/system"), { recursive: true });
  const PATH = toolPath({
    getent: `case "$1" in group) echo "docker:x:999:alice,eve,ldapuser" ;; passwd) cat "${root}/etc/passwd"; echo "ldapsvc:x:5000:999::/:/bin/false" ;; esac`,
    systemctl: `case "$*" in
  *FragmentPath*docker.service*) echo "FragmentPath=${root}/lib/systemd/system/docker.service" ;;
  *FragmentPath*docker.socket*) echo "FragmentPath=" ;;
  *LoadState*) printf 'LoadState=loaded\\nSocketMode=0666\\nSocketGroup=docker\\n' ;;
esac`,
    ss: `printf '%s\\n' 'State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process' \\
  'LISTEN 0      4096         0.0.0.0:2376      0.0.0.0:*    users:(("dockerd",pid=41,fd=5))' \\
  'LISTEN 0      5            0.0.0.0:2375      0.0.0.0:*    users:(("socat",pid=77,fd=3))' \\
  'LISTEN 0      128          [::]:22           [::]:*'`,
    docker: `[ "$1 $2 $3" = "-H unix:///var/run/docker.sock info" ] && echo '${JSON.stringify(INFO)}'`,
  });
  const f = parseSecurity(run(root, PATH));
  expect(f.tools).toEqual({ systemctl: true, ss: true, getent: true, docker: true, timeout: true });
  expect(f.systemdBooted).toBe(true);
  expect(f.group).toEqual({
    exists: true,
    gid: "999",
    members: ["alice", "eve", "ldapuser"],
    source: "getent",
    local: ["alice", "eve"],
    primary: ["ldapsvc", "svc"],
  });
  expect(f.stat.socket).toEqual({
    owner: ownerOf(path.join(root, "var/run/docker.sock")),
    mode: "666",
    kind: "socket",
    path: path.join(root, "var/run/docker.sock"),
  });
  expect(f.stat.service).toMatchObject({ mode: "644", kind: "file", path: path.join(root, "lib/systemd/system/docker.service") });
  expect(f.stat.socketunit).toEqual({ owner: "-", mode: "-", kind: "-", path: "-" });
  expect(f.stat.etcdocker).toMatchObject({ mode: "700", kind: "directory" });
  expect(f.stat.tlskey).toMatchObject({ mode: "600", kind: "file", path: path.join(root, TLS_PATHS.serverKey) });
  expect(f.stat.defaultdocker).toMatchObject({ owner: "-", path: path.join(root, "etc/default/docker") });
  expect(f.socketUnit).toEqual({ load: "loaded", mode: "0666", group: "docker" });
  expect(f.listen).toEqual({
    source: "ss",
    sockets: [
      { address: "0.0.0.0:2376", port: 2376, process: "dockerd" },
      { address: "0.0.0.0:2375", port: 2375, process: "socat" },
      { address: "[::]:22", port: 22, process: "?" },
    ],
  });
  expect([f.apparmor, f.apparmorProfiles, f.selinux]).toEqual(["Y", 2, undefined]);
  expect(f.cgroupFs).toEqual(expect.any(String));
  expect(f.info).toEqual({ securityOptions: INFO.SecurityOptions, cgroupVersion: "2", liveRestore: true, serverVersion: "20.10.24" });
  expect(f.infoError).toBeUndefined();
});

test("without systemctl, ss, getent and docker: the files instead where they say as much, `?` or nothing where they do not", async () => {
  const root = await fakeRoot();
  write(root, "sys/fs/selinux/enforce", "0");
  const PATH = toolPath({}, ["systemctl", "ss", "getent", "docker"]);
  const f = parseSecurity(run(root, PATH));
  expect(f.tools).toMatchObject({ systemctl: false, ss: false, getent: false, docker: false });
  expect(f.systemdBooted).toBe(false);
  // The group from /etc/group, said to be so (members from a directory are not seen).
  expect(f.group).toEqual({
    exists: true,
    gid: "999",
    members: ["alice", "eve"],
    source: "file",
    local: ["alice", "eve"],
    primary: ["svc"],
  });
  // The unit files from their usual places; docker.socket's SocketMode cannot be asked.
  expect(f.stat.service.path).toBe(path.join(root, "lib/systemd/system/docker.service"));
  expect(f.stat.socketunit.path).toBe("-");
  expect(f.socketUnit).toEqual({});
  // Ports from the kernel's table (listening ones only), without address or process.
  expect(f.listen).toEqual({
    source: "proc",
    sockets: [
      { address: "?:2376", port: 2376, process: "?" },
      { address: "?:2375", port: 2375, process: "?" },
    ],
  });
  expect(f.selinux).toBe("0");
  expect(f.info).toBeUndefined();
  expect(f.infoError).toBe("no docker CLI on the host");
});

test("a bare host: no docker group, no socket, no AppArmor or SELinux, no /proc, docker that fails", () => {
  const root = tmpDir();
  write(root, "etc/group", "root:x:0:\n");
  write(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  const PATH = toolPath({ docker: "exit 3" }, ["systemctl", "ss", "getent"]);
  const f = parseSecurity(run(root, PATH));
  expect(f.group).toEqual({ exists: false, members: [], source: "file", local: [], primary: [] });
  expect(f.stat.socket).toEqual({ owner: "-", mode: "-", kind: "-", path: path.join(root, "var/run/docker.sock") });
  expect(f.listen).toEqual({ source: "-", sockets: [] });
  expect([f.apparmor, f.apparmorProfiles, f.selinux, f.cgroupFs, f.info]).toEqual([undefined, undefined, undefined, undefined, undefined]);
  expect(f.infoError).toBe("docker info exited with 3 (no unix socket, or dockerd does not answer on it)");
});

test("the audit's one command: the inspect script, then this one in a subshell; both parse from one output", async () => {
  const root = await fakeRoot();
  const script = renderAuditScript(
    { init: "custom", port: 1, files: { [path.join(root, "etc/docker/daemon.json")]: {} }, stateDir: path.join(root, "state") },
    { tlsPaths: TLS_PATHS, rootDir: root },
  );
  const out = execFileSync("sh", ["-c", script], { env: { PATH: toolPath({}, ["systemctl", "ss", "getent", "docker"]) } }).toString();
  expect(parseInspect(out, [path.join(root, "etc/docker/daemon.json")]).files[path.join(root, "etc/docker/daemon.json")].mode).toBe("644");
  expect(parseSecurity(out).group.local).toEqual(["alice", "eve"]);
  // A security script that stops early says so, and the inspection's own lines stand.
  const broken = script.replace("set -u\nhave()", "exit 4\nhave()");
  const out2 = execFileSync("sh", ["-c", broken]).toString();
  expect(out2).toContain("security.error exit 4\n");
  expect(parseSecurity(out2).error).toBe("the security script failed (exit 4)");
});
