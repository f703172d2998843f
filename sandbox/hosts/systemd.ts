// systemd hosts: the cached rootfs under a per-host overlay, booted with `systemd-nspawn -b`
// in the host's network namespace. Real systemd runs docker.service (restart limits, drop-ins
// under /etc/systemd/system/docker.service.d, journald) as on a server.
import * as fs from "node:fs";
import * as path from "node:path";
import { hostDir } from "../config";
import { run } from "../exec";
import { HostKeyFiles, installHostKey } from "../keys";
import { HostRecord } from "../state";
import { ASSETS, authorizeClient, spawnDetached, waitForDocker, waitForSsh, writeIdentity } from "./common";

export function systemdPaths(name: string): HostRecord["paths"] {
  const dir = hostDir(name);
  return {
    dir,
    root: path.join(dir, "root"),
    log: path.join(dir, "console.log"),
    dockerData: path.join(dir, "var-lib-docker"),
    cgroups: [],
  };
}

/** overlayfs splits its options on "," and ":"; our fixed paths never contain them. */
function overlayPath(p: string): string {
  if (/[,:\\]/.test(p)) throw new Error(`path unusable in overlay options: ${p}`);
  return p;
}

/** Mounts the host's overlay and writes what makes it this host: identity, keys. */
export async function prepareSystemdHost(host: HostRecord, rootfs: string, clientPublicKey: string, hostKey: HostKeyFiles): Promise<void> {
  const { dir, root } = host.paths;
  for (const d of ["upper", "work", "root", "var-lib-docker", "var-lib-containerd"]) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  }
  const opts = `lowerdir=${overlayPath(rootfs)},upperdir=${overlayPath(path.join(dir, "upper"))},workdir=${overlayPath(path.join(dir, "work"))}`;
  // The source name marks the mount as ours in /proc/self/mountinfo.
  await run("mount", ["-t", "overlay", "-o", opts, `dtls-${host.name}`, root]);
  const etc = path.join(root, "etc");
  writeIdentity(etc, host.name, host.address);
  installHostKey(hostKey, path.join(etc, "ssh"));
  authorizeClient(root, etc, clientPublicKey);
}

export function startSystemdHost(host: HostRecord): number {
  const { dir, root, log, dockerData, cgroups } = host.paths;
  return spawnDetached(
    path.join(ASSETS, "run-in-cgroups"),
    [
      ...cgroups,
      "--",
      "systemd-nspawn",
      "--boot",
      `--directory=${root}`,
      `--machine=${host.name}`,
      // PID 1 of this machine is not systemd: no machined to register with, no unit to move to.
      "--register=no",
      "--keep-unit",
      `--network-namespace-path=/run/netns/${host.netns}`,
      "--capability=CAP_NET_ADMIN", // dockerd's iptables rules
      "--system-call-filter=@keyring", // runc
      // Real directories: dockerd's overlay2 does not work on top of an overlay.
      `--bind=${dockerData}:/var/lib/docker`,
      `--bind=${path.join(dir, "var-lib-containerd")}:/var/lib/containerd`,
      "--console=read-only",
      "--setenv=SYSTEMD_COLORS=0",
    ],
    log,
  );
}

export async function systemdHostReady(host: HostRecord): Promise<void> {
  await waitForSsh(host, 60_000);
  await waitForDocker(host, 60_000);
}
