/**
 * Client bundles from stack outputs: the files the docker CLI reads (ca.pem, cert.pem, key.pem)
 * and the environment or docker contexts that point at the hosts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The stack outputs index.ts exports (with secrets shown). */
export interface StackOutputs {
  caCertPem: string;
  clientCertificates: Record<string, { certPem: string; keyPem: string; notAfter: string }>;
  dockerHosts: Record<string, { dockerHost: string; serverCertSha256: string; serverCertNotAfter: string; dockerVersion: string }>;
}

export const defaultBundleDir = (stack: string) => path.join(os.homedir(), ".docker", stack);

/**
 * Writes ca.pem, cert.pem and key.pem for `client` into `dir` (0700). The key is written 0400
 * under a temporary name and renamed, so no reader ever sees a partial or loosely-permitted key.
 */
export function writeBundle(outputs: StackOutputs, client: string, dir: string): void {
  const c = outputs.clientCertificates[client];
  if (!c) {
    const known = Object.keys(outputs.clientCertificates).join(", ") || "none";
    throw new Error(`client ${JSON.stringify(client)} is not in the stack outputs (clients: ${known})`);
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const put = (name: string, content: string, mode: number) => {
    const tmp = path.join(dir, `.${name}.${process.pid}`);
    fs.writeFileSync(tmp, content, { mode });
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, path.join(dir, name));
  };
  put("ca.pem", outputs.caCertPem, 0o444);
  put("cert.pem", c.certPem, 0o444);
  put("key.pem", c.keyPem, 0o400);
}

/** The lines a user pastes to point the docker CLI at `host`. */
export function exportLines(dockerHost: string, dir: string): string[] {
  return [`export DOCKER_HOST=${dockerHost}`, "export DOCKER_TLS_VERIFY=1", `export DOCKER_CERT_PATH=${dir}`];
}

/** Environment for running the docker CLI against `dockerHost` with the bundle in `dir`. */
export function dockerEnv(dockerHost: string, dir: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: dockerHost, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir, DOCKER_CONTEXT: "" };
}
