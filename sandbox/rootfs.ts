// The read-only Debian rootfs under every systemd host's overlay. Built once with debootstrap
// (about a minute) and cached in ~/.cache, keyed by what goes into it: a different package
// list or customisation gets a new directory, an unchanged one is reused across up/down.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE_DIR, SUDO_USER } from "./config";
import { run } from "./exec";
import { Logger, step } from "./log";
import { debianMirror, osCodename } from "./mirror";

export const ROOTFS_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "docker.io",
  "iproute2",
  "ca-certificates",
  "iptables",
  "procps",
  "sudo",
] as const;

/** Bump when customise() changes, so old caches are not reused with the new layout. */
const RECIPE_VERSION = 1;
const COMPLETE_MARKER = ".docker-tls-rootfs.json";
export const ASSETS_DIR = path.join(__dirname, "assets");

export function rootfsKey(suite: string): string {
  const recipe = JSON.stringify({ suite, variant: "minbase", packages: ROOTFS_PACKAGES, RECIPE_VERSION });
  return createHash("sha256").update(recipe).digest("hex").slice(0, 16);
}

export function rootfsPath(suite = osCodename()): string {
  return path.join(CACHE_DIR, `rootfs-${rootfsKey(suite)}`);
}

export function rootfsReady(dir: string): boolean {
  return fs.existsSync(path.join(dir, COMPLETE_MARKER));
}

/** Returns the cached rootfs, building it first if needed. */
export async function ensureRootfs(log: Logger): Promise<string> {
  const suite = osCodename();
  const dir = rootfsPath(suite);
  if (rootfsReady(dir)) {
    log(`rootfs: cached at ${dir}`);
    return dir;
  }
  const mirror = debianMirror(suite);
  // Built beside the final path and renamed at the end: an interrupted build is never reused.
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  await step(log, `rootfs: debootstrap ${suite} from ${mirror} (once, about a minute)`, () =>
    run("nice", ["-n", "10", "debootstrap", "--variant=minbase", `--include=${ROOTFS_PACKAGES.join(",")}`, suite, partial, mirror], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }),
  );
  await step(log, "rootfs: customise (deploy user, sshd, cgroup unit)", () => customise(partial));
  fs.writeFileSync(
    path.join(partial, COMPLETE_MARKER),
    JSON.stringify({ suite, mirror, packages: ROOTFS_PACKAGES, recipe: RECIPE_VERSION, built: new Date().toISOString() }, null, 2) + "\n",
  );
  fs.renameSync(partial, dir);
  return dir;
}

function copyAsset(asset: string, dest: string, mode: number): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(path.join(ASSETS_DIR, asset), dest);
  fs.chmodSync(dest, mode);
}

/** Everything shared by all systemd hosts; per-host files go into each host's overlay. */
async function customise(root: string): Promise<void> {
  const chroot = (...args: string[]) => run("chroot", [root, ...args]);
  await chroot("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", SUDO_USER);
  // "*" = no password but not locked: sshd refuses key logins to locked ("!") accounts.
  await chroot("usermod", "--password", "*", SUDO_USER);
  copyAsset("sudoers-deploy", path.join(root, "etc/sudoers.d", SUDO_USER), 0o440);
  copyAsset("sshd-sandbox.conf", path.join(root, "etc/ssh/sshd_config.d/sandbox.conf"), 0o644);
  // Host keys are per host (written into each overlay before boot), never shared.
  for (const f of fs.readdirSync(path.join(root, "etc/ssh"))) {
    if (f.startsWith("ssh_host_")) fs.rmSync(path.join(root, "etc/ssh", f));
  }
  copyAsset("sandbox-cgroup-rw", path.join(root, "usr/local/sbin/sandbox-cgroup-rw"), 0o755);
  const unitDir = path.join(root, "usr/local/lib/systemd/system");
  copyAsset("sandbox-cgroup-rw.service", path.join(unitDir, "sandbox-cgroup-rw.service"), 0o644);
  fs.mkdirSync(path.join(unitDir, "sysinit.target.wants"), { recursive: true });
  fs.symlinkSync("../sandbox-cgroup-rw.service", path.join(unitDir, "sysinit.target.wants/sandbox-cgroup-rw.service"));
  // Periodic jobs (apt, fstrim, e2scrub) have nothing to do in a throwaway host.
  const timers = path.join(root, "etc/systemd/system/timers.target.wants");
  fs.rmSync(timers, { recursive: true, force: true });
  // Each host gets its own machine-id; an empty one here never leaks into a host.
  fs.writeFileSync(path.join(root, "etc/machine-id"), "");
  await chroot("apt-get", "clean");
}
