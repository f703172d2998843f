// Runs commands on sandbox hosts with the system `ssh` client, the sandbox key and the pinned
// known_hosts (strict checking: a host that is not the one we made is refused).
import { CLIENT_KEY, KNOWN_HOSTS, SSH_PORT, hostAddress, hostIndex } from "./config";
import { RunOptions, RunResult, run } from "./exec";

/** A host record, a host name ("sbx1") or an address. */
export type HostRef = string | { address: string };

export type SshUser = "root" | "deploy";

export interface SshOptions extends RunOptions {
  user?: SshUser;
  connectTimeoutSec?: number;
}

function addressOf(host: HostRef): string {
  if (typeof host !== "string") return host.address;
  return /^sbx[0-9]+$/.test(host) ? hostAddress(hostIndex(host)) : host;
}

/** Quotes one word for a POSIX shell: the remote sshd hands our command to the user's shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Options shared by every connection; `-F /dev/null` keeps the user's ssh config out of it. */
export function sshOptions(connectTimeoutSec = 5): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    CLIENT_KEY,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${KNOWN_HOSTS}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${connectTimeoutSec}`,
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(SSH_PORT),
  ];
}

/** The command a person types to log in (shown by `status`). */
export function sshCommand(host: HostRef, user: SshUser = "root"): string {
  return `ssh -i ${CLIENT_KEY} -o UserKnownHostsFile=${KNOWN_HOSTS} ${user}@${addressOf(host)}`;
}

/**
 * Runs `argv` on the host (as root unless `user` says otherwise). Each element arrives as one
 * word; `input` is fed to the remote command's stdin. Throws on a non-zero exit unless
 * `allowFail` is set; ssh's own failures exit 255.
 */
export function runOnHost(host: HostRef, argv: readonly string[], opts: SshOptions = {}): Promise<RunResult> {
  if (argv.length === 0) throw new Error("runOnHost: empty command");
  const { user = "root", connectTimeoutSec, ...runOpts } = opts;
  const target = `${user}@${addressOf(host)}`;
  return run("ssh", [...sshOptions(connectTimeoutSec), target, "--", argv.map(shellQuote).join(" ")], runOpts);
}

/** Runs a shell script on the host via `sh -s` (script on stdin, so nothing is re-quoted). */
export function runScriptOnHost(host: HostRef, script: string, opts: SshOptions = {}): Promise<RunResult> {
  return runOnHost(host, ["sh", "-s"], { ...opts, input: script });
}
