// state.json: what `up` made, for `status`, `down` and the rest of the project (stack
// configs and e2e tests read host records from it through the library API).
import * as fs from "node:fs";
import { HostKind, LOCK_FILE, STATE_DIR, STATE_FILE } from "./config";
import { commOf, isAlive } from "./procs";

export interface HostRecord {
  name: string;
  kind: HostKind;
  address: string;
  sshPort: number;
  /** Login names accepting the sandbox client key: root, and `deploy` with passwordless sudo. */
  users: { root: string; deploy: string };
  /** Host public key in authorized_keys form ("ssh-ed25519 AAAA…"), also in known_hosts. */
  hostKey: string;
  netns: string;
  veth: string;
  pids: {
    /** systemd: the systemd-nspawn process; plain: the host's sshd (its first process). 0 before start. */
    main: number;
  };
  paths: {
    /** Per-host directory under the state dir (overlay layers, per-host data, logs). */
    dir: string;
    /**
     * systemd: the merged overlay root nspawn boots; plain: the per-host directories (etc,
     * root, home, var/log, var/lib/docker) the host mounts over the machine's.
     */
    root: string;
    /** Console (systemd) or sshd (plain) output. */
    log: string;
    /** The host's /var/lib/docker, seen from the machine. */
    dockerData: string;
    /** The host's /var/log/docker.log (plain hosts; systemd hosts log to their journal). */
    dockerLog?: string;
    /** The host's cgroups, one per hierarchy. */
    cgroups: string[];
  };
  createdAt: string;
}

export interface SandboxState {
  version: 1;
  hosts: HostRecord[];
  /** What `up` had to create on the machine and `down` must take away again. */
  made: { netnsMount: boolean; nspawnTmpfs: boolean; nspawnDir: boolean };
}

export function emptyState(): SandboxState {
  return { version: 1, hosts: [], made: { netnsMount: false, nspawnTmpfs: false, nspawnDir: false } };
}

export function loadState(): SandboxState {
  if (!fs.existsSync(STATE_FILE)) return emptyState();
  const parsed = JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as SandboxState;
  if (parsed.version !== 1) throw new Error(`${STATE_FILE}: unknown version ${String(parsed.version)}`);
  return parsed;
}

/** Written via rename so a reader never sees half a file. */
export function saveState(state: SandboxState): void {
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  state.hosts.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  const tmp = `${STATE_FILE}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o644 });
  fs.renameSync(tmp, STATE_FILE);
}

/** True while the host's first process runs (checked by program name too, against PID reuse). */
export function hostRunning(host: HostRecord): boolean {
  const expected = host.kind === "systemd" ? "systemd-nspawn" : "sshd";
  return isAlive(host.pids.main) && commOf(host.pids.main) === expected;
}

/** One `up`/`down` at a time: they create and delete the same names. */
export async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(fs.readFileSync(LOCK_FILE, "utf8").trim());
      if (!isAlive(holder)) {
        fs.rmSync(LOCK_FILE, { force: true }); // left by a killed run
        continue;
      }
      if (attempt > 600) throw new Error(`another sandbox command (pid ${holder}) holds ${LOCK_FILE}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}
