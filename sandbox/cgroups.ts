// One cgroup per host, /dtls-sandbox/<name>, in every hierarchy the machine mounts. nspawn
// needs it (with --keep-unit it creates payload/ and supervisor/ inside its own cgroup, so
// two machines in the same cgroup collide), and for every kind it is how `down` finds every
// process a host started, docker's included, and removes the host without leftovers.
import * as fs from "node:fs";
import * as path from "node:path";
import { CGROUP_GROUP } from "./config";
import { sleep } from "./exec";
import { readMounts } from "./mounts";

/** Mount points of the cgroup hierarchies (v1 controllers, name=systemd, the unified one). */
export function hierarchies(): string[] {
  return readMounts()
    .filter((m) => (m.fsType === "cgroup" || m.fsType === "cgroup2") && m.mountPoint.startsWith("/sys/fs/cgroup"))
    .map((m) => m.mountPoint);
}

/** cgroup v1 cpuset children start with no CPUs and no memory nodes: copy the parent's. */
function initCpuset(dir: string): void {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    const own = path.join(dir, file);
    if (!fs.existsSync(own) || fs.readFileSync(own, "utf8").trim() !== "") continue;
    fs.writeFileSync(own, fs.readFileSync(path.join(path.dirname(dir), file), "utf8"));
  }
}

export function createHostCgroups(name: string): string[] {
  const dirs: string[] = [];
  for (const h of hierarchies()) {
    const group = path.join(h, CGROUP_GROUP);
    const dir = path.join(group, name);
    fs.mkdirSync(dir, { recursive: true });
    initCpuset(group);
    initCpuset(dir);
    dirs.push(dir);
  }
  return dirs;
}

/** Every cgroup directory at or below `dir`, deepest first. */
function subtree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...subtree(path.join(dir, e.name)));
  }
  out.push(dir);
  return out;
}

export function pidsIn(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    for (const d of subtree(dir)) {
      try {
        for (const p of fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n")) {
          if (p.trim()) pids.add(Number(p));
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

/** Removes the host's cgroups (and the shared parent once empty). Call after its processes are gone. */
export async function removeHostCgroups(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (const d of subtree(dir)) {
      // A just-killed task can keep its cgroup busy for a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          fs.rmdirSync(d);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          if (attempt >= 50) throw new Error(`cannot remove cgroup ${d}: ${code}`);
          await sleep(100);
        }
      }
    }
    try {
      fs.rmdirSync(path.dirname(dir)); // /…/dtls-sandbox, shared by all hosts
    } catch {
      // other hosts still use it, or it is already gone
    }
  }
}

/** Host cgroups present on the machine, whether or not the state file knows them. */
export function existingHostCgroups(): Map<string, string[]> {
  const byHost = new Map<string, string[]>();
  for (const h of hierarchies()) {
    const group = path.join(h, CGROUP_GROUP);
    if (!fs.existsSync(group)) continue;
    for (const e of fs.readdirSync(group, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      byHost.set(e.name, [...(byHost.get(e.name) ?? []), path.join(group, e.name)]);
    }
  }
  return byHost;
}

/** The shared /…/dtls-sandbox directories, removed by `down` once every host is gone. */
export function removeGroupDirs(): void {
  for (const h of hierarchies()) {
    try {
      fs.rmdirSync(path.join(h, CGROUP_GROUP));
    } catch {
      // absent or still in use
    }
  }
}
