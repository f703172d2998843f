/** How many times dockerd has finished starting on a sandbox host: the e2e suites and `npm run bench` count restarts with it. */
import type { HostKind } from "./config";
import { runScriptOnHost } from "./ssh";

/** dockerd's "completed initialization" lines in its own log (journald on systemd hosts, /var/log/docker.log on plain ones). */
export async function daemonStarts(address: string, kind: HostKind): Promise<number> {
  const log = kind === "systemd" ? "journalctl -u docker.service -o cat --no-pager" : "cat /var/log/docker.log";
  return Number((await runScriptOnHost(address, `${log} | grep -c 'Daemon has completed initialization' || true`)).stdout.trim());
}
