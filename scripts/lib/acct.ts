/**
 * Linux process accounting (acct(5)): while it is on, the kernel appends a record for every
 * process that exits, with its parent and its CPU time. `npm run bench` turns it on around each
 * Pulumi command (as root, with the `acct` package's accton) to split the Pulumi side's CPU by
 * process: the engine, the language host and the program, the plugins, the node processes the
 * plugins start. Only the command's descendants count: the sandbox hosts share the kernel.
 */
import * as fs from "fs";
import { spawnSync } from "child_process";

/** One exited process. */
export interface AcctRecord {
  pid: number;
  ppid: number;
  /** Its command name, as the kernel keeps it: at most 15 characters (`pulumi-resource`). */
  comm: string;
  /** User and system CPU time, in seconds. */
  cpuS: number;
}

/** acct_v3 (linux/acct.h): 64 bytes; times in comp_t (13-bit mantissa, base-8 exponent) of AHZ ticks. */
const RECORD_BYTES = 64;
const AHZ = 100;
const compT = (v: number) => (v & 0x1fff) << (3 * ((v >> 13) & 7));

/** The records of a version-3 accounting file (the only version Linux writes today); others are skipped. */
export function parseAcct(buf: Buffer): AcctRecord[] {
  const out: AcctRecord[] = [];
  for (let o = 0; o + RECORD_BYTES <= buf.length; o += RECORD_BYTES) {
    if ((buf[o + 1] & 0x0f) !== 3) continue;
    const comm = buf.toString("latin1", o + 48, o + 64).replace(/\0.*$/s, "");
    const ticks = compT(buf.readUInt16LE(o + 32)) + compT(buf.readUInt16LE(o + 34));
    out.push({ pid: buf.readUInt32LE(o + 16), ppid: buf.readUInt32LE(o + 20), comm, cpuS: ticks / AHZ });
  }
  return out;
}

/** The process `root` and everything below it, by the parents the records name (exited processes here, live ones in bench's memory sampling). */
export function descendants<T extends { pid: number; ppid: number }>(records: T[], root: number): T[] {
  const below = new Set([root]);
  // Records come in exit order, children before their parents: walk until nothing is added.
  for (let added = true; added;) {
    added = false;
    for (const r of records) {
      if (!below.has(r.pid) && below.has(r.ppid)) {
        below.add(r.pid);
        added = true;
      }
    }
  }
  return records.filter((r) => below.has(r.pid));
}

/**
 * CPU seconds by kind of process: `engine` (the pulumi CLI), `language host`, `program` (node under
 * the language host), `plugins` (pulumi-resource-*), `node under plugins` (the dynamic provider, the
 * version probes), `other` (npm, shells, tools).
 */
export function cpuByKind(records: AcctRecord[]): Record<string, number> {
  const byPid = new Map(records.map((r) => [r.pid, r]));
  const kind = (r: AcctRecord): string => {
    if (r.comm === "pulumi") return "engine";
    if (r.comm.startsWith("pulumi-language")) return "language host";
    if (r.comm.startsWith("pulumi-resource")) return "plugins";
    if (r.comm === "node") {
      for (let p = byPid.get(r.ppid); p; p = byPid.get(p.ppid)) {
        if (p.comm.startsWith("pulumi-language")) return "program";
        if (p.comm.startsWith("pulumi-resource")) return "node under plugins";
      }
    }
    return "other";
  };
  const sums: Record<string, number> = {};
  for (const r of records) {
    const k = kind(r);
    sums[k] = (sums[k] ?? 0) + r.cpuS;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v * 100) / 100]));
}

/** Process accounting into `file` while `run` runs, when this machine can (root, accton); undefined otherwise. */
export async function withAccounting<T>(file: string, run: () => Promise<T>): Promise<{ result: T; records?: AcctRecord[] }> {
  fs.writeFileSync(file, "");
  const on = spawnSync("accton", [file], { stdio: "ignore" }).status === 0;
  try {
    return { result: await run(), ...(on ? { records: parseAcct(fs.readFileSync(file)) } : {}) };
  } finally {
    if (on) spawnSync("accton", ["off"], { stdio: "ignore" });
    fs.rmSync(file, { force: true });
  }
}
