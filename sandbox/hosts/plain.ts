// plain hosts: no systemd. The machine's own programs in the host's network namespace and a
// private mount namespace (see assets/plain-host-init) with per-host /etc, /root, /home,
// /var/lib, /var/log, /run; sshd and dockerd at their default paths; docker is managed with
// `service docker …` honouring /etc/default/docker, the older style the product supports.
import * as fs from "node:fs";
import * as path from "node:path";
import { SUDO_USER, hostDir } from "../config";
import { run } from "../exec";
import { HostKeyFiles, installHostKey } from "../keys";
import { runOnHost } from "../ssh";
import { HostRecord } from "../state";
import { ASSETS, authorizeClient, spawnDetached, waitForDocker, waitForSsh, writeIdentity } from "./common";

export function plainPaths(name: string): HostRecord["paths"] {
  const dir = hostDir(name);
  return {
    dir,
    root: path.join(dir, "fs"),
    log: path.join(dir, "sshd.log"),
    dockerData: path.join(dir, "fs", "var", "lib", "docker"),
    dockerLog: path.join(dir, "fs", "var", "log", "docker.log"),
    cgroups: [],
  };
}

/** An overlayfs whiteout: a 0/0 character device in the upper layer hides the lower file. */
async function whiteout(file: string): Promise<void> {
  await run("mknod", [file, "c", "0", "0"]);
}

export async function preparePlainHost(host: HostRecord, clientPublicKey: string, hostKey: HostKeyFiles): Promise<void> {
  const { dir } = host.paths;
  const fsDir = path.join(dir, "fs");
  for (const d of ["root", "home", "var/log", "var/lib/docker", "var/lib/containerd"]) {
    fs.mkdirSync(path.join(fsDir, d), { recursive: true });
  }
  fs.chmodSync(path.join(fsDir, "root"), 0o700);

  // The host's /etc starts as a copy of the machine's (the same programs run with it).
  const etc = path.join(fsDir, "etc");
  await run("cp", ["-a", "/etc", etc]);
  for (const f of fs.readdirSync(path.join(etc, "ssh"))) {
    if (f.startsWith("ssh_host_")) fs.rmSync(path.join(etc, "ssh", f));
  }
  installHostKey(hostKey, path.join(etc, "ssh"));
  fs.mkdirSync(path.join(etc, "ssh", "sshd_config.d"), { recursive: true });
  fs.copyFileSync(path.join(ASSETS, "sshd-sandbox.conf"), path.join(etc, "ssh", "sshd_config.d", "sandbox.conf"));
  // Stock docker configuration: no daemon.json, whatever the machine has.
  fs.rmSync(path.join(etc, "docker"), { recursive: true, force: true });
  fs.mkdirSync(path.join(etc, "docker"), { mode: 0o755 });
  writeIdentity(etc, host.name, host.address);

  // The deploy user exists in this host's passwd only; --prefix edits the copy, not the machine.
  if (
    !fs
      .readFileSync(path.join(etc, "passwd"), "utf8")
      .split("\n")
      .some((l) => l.startsWith(`${SUDO_USER}:`))
  ) {
    await run("useradd", ["--prefix", fsDir, "--create-home", "--shell", "/bin/bash", "--user-group", SUDO_USER]);
  }
  // "*" = no password but not locked: sshd refuses key logins to locked ("!") accounts.
  await run("usermod", ["--prefix", fsDir, "--password", "*", SUDO_USER]);
  const sudoers = path.join(etc, "sudoers.d", SUDO_USER);
  fs.mkdirSync(path.dirname(sudoers), { recursive: true });
  fs.copyFileSync(path.join(ASSETS, "sudoers-deploy"), sudoers);
  fs.chmodSync(sudoers, 0o440);
  authorizeClient(fsDir, etc, clientPublicKey);

  for (const o of ["usr-bin", "usr-sbin", "var-lib"]) {
    for (const layer of ["upper", "work"]) fs.mkdirSync(path.join(dir, "overlay", o, layer), { recursive: true });
  }
  await whiteout(path.join(dir, "overlay", "usr-bin", "upper", "systemctl"));
  // The sandbox's state (and the client's private key) is not the host's business.
  await whiteout(path.join(dir, "overlay", "var-lib", "upper", "docker-tls-sandbox"));
  const service = path.join(dir, "overlay", "usr-sbin", "upper", "service");
  fs.copyFileSync(path.join(ASSETS, "service"), service);
  fs.chmodSync(service, 0o755);
}

export function startPlainHost(host: HostRecord): number {
  return spawnDetached(
    path.join(ASSETS, "run-in-cgroups"),
    [
      ...host.paths.cgroups,
      "--",
      "nsenter",
      `--net=/run/netns/${host.netns}`,
      "--",
      // slave: mounts made on the machine later (other hosts' netns files) still arrive and
      // leave; the host's own mounts stay private to it.
      "unshare",
      "--mount",
      "--uts",
      "--cgroup",
      "--propagation",
      "slave",
      "--",
      path.join(ASSETS, "plain-host-init"),
      host.paths.dir,
      host.name,
    ],
    host.paths.log,
  );
}

export async function plainHostReady(host: HostRecord): Promise<void> {
  await waitForSsh(host, 20_000);
  // Started the way an admin (or the program) does it, so dockerd is a child of nothing of ours.
  await runOnHost(host, ["service", "docker", "start"], { timeoutMs: 60_000 });
  await waitForDocker(host, 30_000);
}
