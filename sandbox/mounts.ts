// Mount table helpers: `down` finds what the sandbox mounted by reading /proc/self/mountinfo
// (not by remembering), so even an interrupted `up` is cleaned up.
import * as fs from "node:fs";
import { run, sleep } from "./exec";

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function readMounts(): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    const sep = fields.indexOf("-", 6);
    if (sep < 0) continue;
    entries.push({ mountPoint: unescape(fields[4]), fsType: fields[sep + 1], source: unescape(fields[sep + 2]) });
  }
  return entries;
}

export function isMountPoint(dir: string): boolean {
  return readMounts().some((m) => m.mountPoint === dir);
}

export function mountsUnder(dir: string): MountEntry[] {
  return readMounts().filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(dir + "/"));
}

/** Unmounts everything at or below `dir`, deepest first; retries while a dying process holds it. */
export async function unmountUnder(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const mounts = mountsUnder(dir).sort((a, b) => b.mountPoint.length - a.mountPoint.length);
    if (mounts.length === 0) return;
    const failures: string[] = [];
    for (const m of mounts) {
      const res = await run("umount", [m.mountPoint], { allowFail: true });
      if (res.code !== 0) failures.push(`${m.mountPoint}: ${res.stderr.trim()}`);
    }
    if (failures.length === 0) continue; // re-read: stacked mounts may remain
    if (attempt >= 50) throw new Error(`cannot unmount:\n${failures.join("\n")}`);
    await sleep(200);
  }
}
