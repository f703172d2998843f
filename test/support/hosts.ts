/** Sandbox hosts as the e2e suites see them: run scripts on them and count dockerd starts. */
import * as https from "https";
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
export const daemonStarts = (host: TestHost): Promise<number> => sandbox.daemonStarts(host.address, host.kind);

/** dockerd starts per host, for counting restarts with `restarts`. */
export async function allStarts(hosts: TestHost[]): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(hosts.map(async (h) => [h.name, await daemonStarts(h)] as const)));
}

/** Restarts per host between two counts. */
export const restarts = (hosts: TestHost[], before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(hosts.map((h) => [h.name, after[h.name] - before[h.name]]));

/** What destroy must put back: the managed files' hashes, /etc/docker's mode, the drop-in. */
export const ORIGINAL_STATE = `for f in /etc/docker/daemon.json /etc/default/docker /etc/systemd/system/docker.service.d/docker-tls.conf \\
  /etc/docker/ca.pem /etc/docker/server-cert.pem /etc/docker/server-key.pem; do
  if [ -e "$f" ]; then echo "$f $(sha256sum < "$f" | cut -c1-16) $(stat -c %a "$f")"; else echo "$f absent"; fi
done
echo "/etc/docker $(stat -c %a /etc/docker)"`;

/** GET /version over TLS with the given material; resolves with the status or the error. */
export function tlsGet(
  host: TestHost,
  material: { ca: string; cert?: string; key?: string },
): Promise<{ status?: number; body?: string; error?: string; sha256?: string; san?: string }> {
  return new Promise((resolve) => {
    const req = https.get(
      { host: host.address, port: 2376, path: "/version", ...material, servername: undefined, timeout: 15_000, agent: false },
      (res) => {
        let body = "";
        const peer = (res.socket as import("tls").TLSSocket).getPeerCertificate();
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode, body, sha256: peer.fingerprint256, san: peer.subjectaltname }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => resolve({ error: `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}` }));
  });
}

/**
 * A container that just sleeps, from a tiny image made on the host out of its own `sleep` and libc
 * (no registry is reachable from the sandbox): the image `image`, the container `name`, with
 * `runArgs` (a restart policy) for `docker run`.
 */
export const sleeperContainer = (name: string, image = "dtls-tiny:1", runArgs = "") =>
  `tar -chf - -C / usr/bin/sleep lib64/ld-linux-x86-64.so.2 usr/lib/x86_64-linux-gnu/libc.so.6 | docker import - ${image} >/dev/null
docker run -d --name ${name}${runArgs ? ` ${runArgs}` : ""} --network none ${image} /usr/bin/sleep infinity >/dev/null`;
