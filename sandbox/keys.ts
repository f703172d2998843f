// SSH keys: one client key for all hosts and one host key per host name. Both are made once
// and kept across down/up, so a stack config can point at the client key and pin host keys.
// Private keys only ever travel as files (ssh-keygen writes them, we copy files), never as
// command-line arguments or log lines.
import * as fs from "node:fs";
import * as path from "node:path";
import { CLIENT_KEY, HOST_KEYS_DIR, KNOWN_HOSTS, SSH_DIR } from "./config";
import { run } from "./exec";

/** "ssh-ed25519 AAAA…" without the comment. */
function publicKeyOf(pubFile: string): string {
  return fs.readFileSync(pubFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

async function generate(file: string, comment: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // -N "" is the (empty) passphrase, not key material.
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  fs.chmodSync(file, 0o600);
}

export async function ensureClientKey(): Promise<string> {
  fs.mkdirSync(SSH_DIR, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(CLIENT_KEY) || !fs.existsSync(`${CLIENT_KEY}.pub`)) {
    fs.rmSync(CLIENT_KEY, { force: true });
    fs.rmSync(`${CLIENT_KEY}.pub`, { force: true });
    await generate(CLIENT_KEY, "docker-tls-sandbox");
  }
  return publicKeyOf(`${CLIENT_KEY}.pub`);
}

export interface HostKeyFiles {
  privateKey: string;
  publicKeyFile: string;
  publicKey: string;
}

export async function ensureHostKey(name: string): Promise<HostKeyFiles> {
  const privateKey = path.join(HOST_KEYS_DIR, name, "ssh_host_ed25519_key");
  if (!fs.existsSync(privateKey) || !fs.existsSync(`${privateKey}.pub`)) {
    fs.rmSync(privateKey, { force: true });
    fs.rmSync(`${privateKey}.pub`, { force: true });
    await generate(privateKey, `root@${name}`);
  }
  return { privateKey, publicKeyFile: `${privateKey}.pub`, publicKey: publicKeyOf(`${privateKey}.pub`) };
}

/** Installs the host key pair into a host's /etc/ssh (given as a path on the machine). */
export function installHostKey(keys: HostKeyFiles, etcSsh: string): void {
  fs.mkdirSync(etcSsh, { recursive: true });
  const dest = path.join(etcSsh, "ssh_host_ed25519_key");
  fs.copyFileSync(keys.privateKey, dest);
  fs.chmodSync(dest, 0o600);
  fs.copyFileSync(keys.publicKeyFile, `${dest}.pub`);
  fs.chmodSync(`${dest}.pub`, 0o644);
}

/** Installs the client key as the only authorized key of a user whose home is `home`. */
export function installAuthorizedKey(clientPublicKey: string, home: string, uid: number, gid: number): void {
  const dir = path.join(home, ".ssh");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, "authorized_keys");
  fs.writeFileSync(file, `${clientPublicKey} docker-tls-sandbox\n`, { mode: 0o600 });
  fs.chownSync(dir, uid, gid);
  fs.chownSync(file, uid, gid);
}

export function writeKnownHosts(entries: { address: string; hostKey: string }[]): void {
  const text = entries.map((e) => `${e.address} ${e.hostKey}\n`).join("");
  fs.writeFileSync(`${KNOWN_HOSTS}.tmp`, text, { mode: 0o644 });
  fs.renameSync(`${KNOWN_HOSTS}.tmp`, KNOWN_HOSTS);
}
