/**
 * Client bundles from stack outputs: the files the docker CLI reads (ca.pem, cert.pem, key.pem)
 * and the environment or docker contexts that point at the hosts.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * The stack outputs index.ts exports (with secrets shown). The optional ones are absent from a
 * stack last updated before they were added.
 */
export interface StackOutputs {
  caCertPem: string;
  caNotAfter?: string;
  clientCertificates: Record<string, { certPem: string; keyPem: string; notAfter: string; issuerNotAfter?: string }>;
  dockerHosts: Record<string, { dockerHost: string; serverCertSha256: string; serverCertNotAfter: string; dockerVersion: string }>;
}

export const defaultBundleDir = (stack: string) => path.join(os.homedir(), ".docker", stack);

/**
 * Writes ca.pem, cert.pem (0444) and key.pem (0400) for `client` into `dir`.
 *
 * `dir` itself: when it does not exist it is made, with any missing parents, 0700 (the umask may
 * lower that, never raise it). When it exists it is left as it is, mode and owner, whoever owns
 * it: the command only writes into it. It must then be a directory (or a link to one) that neither
 * its group nor others may write to: anyone who can write there could remove or swap the key
 * between this command and the docker CLI, so such a folder is refused, naming it.
 *
 * Each file: refused when its name already is a symbolic link (or not a regular file), before any
 * file is written. Otherwise its content goes into a new file under a random temporary name,
 * created exclusively and without following links (O_CREAT|O_EXCL|O_NOFOLLOW), given its mode,
 * flushed to disk, and renamed over the name: no reader ever sees a partial or loosely-permitted
 * key, and nothing is written through a link someone placed there. On any failure the temporary
 * file is removed.
 */
export function writeBundle(outputs: StackOutputs, client: string, dir: string): void {
  const c = outputs.clientCertificates[client];
  if (!c) {
    const known = Object.keys(outputs.clientCertificates).join(", ") || "none";
    throw new Error(`client ${JSON.stringify(client)} is not in the stack outputs (clients: ${known})`);
  }
  const files: [name: string, content: string, mode: number][] = [
    ["ca.pem", outputs.caCertPem, 0o444],
    ["cert.pem", c.certPem, 0o444],
    ["key.pem", c.keyPem, 0o400],
  ];
  bundleDir(dir);
  for (const [name] of files) checkTarget(path.join(dir, name));
  for (const [name, content, mode] of files) replaceFile(dir, name, content, mode);
  syncDir(dir);
}

/** Makes `dir` 0700 if it is missing; otherwise checks that it may hold a key (see writeBundle). */
function bundleDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  const writable = [st.mode & 0o020 ? "its group" : "", st.mode & 0o002 ? "others" : ""].filter(Boolean).join(" and ");
  if (writable) {
    throw new Error(
      `${dir} is writable by ${writable} (mode ${(st.mode & 0o7777).toString(8)}): they could remove or replace the client key there; ` +
        `make it private (chmod go-w ${dir}) or write the bundle elsewhere (--out DIR)`,
    );
  }
}

/** Refuses a file name that is a symbolic link, or anything but a regular file: it is never written through. */
function checkTarget(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (st.isSymbolicLink()) throw new Error(`${file} is a symbolic link; remove it (nothing is written through a link)`);
  if (!st.isFile()) throw new Error(`${file} exists and is not a regular file; remove it`);
}

/**
 * A new file or nothing: O_EXCL fails on any existing name, a link included; O_NOFOLLOW (where the
 * platform has it) refuses a link too, so that no platform's reading of O_EXCL can write through one.
 */
const CREATE_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0);

/** Writes `content` as `dir/name` with `mode` through a new temporary file (see writeBundle). */
function replaceFile(dir: string, name: string, content: string, mode: number): void {
  // Random, so that a file left by an interrupted run (or placed there) never collides with it.
  const tmp = path.join(dir, `.${name}.${crypto.randomBytes(8).toString("hex")}.tmp`);
  let fd: number | undefined;
  let created = false;
  try {
    fd = fs.openSync(tmp, CREATE_NEW, mode);
    created = true;
    // The umask may have lowered the mode given to open: set it exactly, on the file just made.
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, path.join(dir, name));
  } catch (e) {
    // Only a file this call made is removed: a name it could not create is someone else's.
    if (fd !== undefined) fs.closeSync(fd);
    if (created) fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Flushes the folder itself, so that the renames survive a crash too. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The lines a user pastes to point the docker CLI at `host`. */
export function exportLines(dockerHost: string, dir: string): string[] {
  return [`export DOCKER_HOST=${dockerHost}`, "export DOCKER_TLS_VERIFY=1", `export DOCKER_CERT_PATH=${dir}`];
}

/** Environment for running the docker CLI against `dockerHost` with the bundle in `dir`. */
export function dockerEnv(dockerHost: string, dir: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: dockerHost, DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: dir, DOCKER_CONTEXT: "" };
}
