/** Sandbox hosts as the e2e suites see them: run scripts on them and count dockerd starts. */
import * as sandbox from "../../sandbox";

export interface TestHost {
  name: string;
  address: string;
  kind: "systemd" | "plain";
}

/** Runs a script on a host as root; returns stdout. */
export async function onHost(host: TestHost, script: string): Promise<string> {
  return (await sandbox.runScriptOnHost(host.address, script)).stdout;
}

/** How many times dockerd has finished starting on a host, from its own log. */
export async function daemonStarts(host: TestHost): Promise<number> {
  const log = host.kind === "systemd" ? "journalctl -u docker.service -o cat --no-pager" : "cat /var/log/docker.log";
  return Number((await onHost(host, `${log} | grep -c 'Daemon has completed initialization' || true`)).trim());
}

/** dockerd starts per host, for counting restarts with `restarts`. */
export async function allStarts(hosts: TestHost[]): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(hosts.map(async (h) => [h.name, await daemonStarts(h)] as const)));
}

/** Restarts per host between two counts. */
export const restarts = (hosts: TestHost[], before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(hosts.map((h) => [h.name, after[h.name] - before[h.name]]));
