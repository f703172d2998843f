// Process checks that survive this machine's quirks: the sandbox's daemons are orphans of
// PID 1, which reaps slowly, so a dead process lingers as a zombie and `kill -0` would still
// succeed. Liveness is read from /proc/PID/status instead.
import * as fs from "node:fs";
import { sleep } from "./exec";

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const state = /^State:\s+([A-Z])/m.exec(status)?.[1];
    return state !== undefined && state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The program name the kernel keeps for `pid` ("" when gone), to guard against PID reuse. */
export function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits until none of `pids` is alive; returns those still alive at the deadline. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isAlive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(100);
  }
}
