/**
 * Pure render functions for the shell scripts that DockerHost runs on a host over SSH, and for
 * what it sends them on stdin. POSIX sh only (Debian's dash included): the hosts need nothing
 * beyond coreutils, and systemctl/journalctl or a `service docker` script.
 *
 * Layout on the host (all under /etc/docker, which is made 0700 root):
 *   /etc/docker/docker-tls/next/<sha256>   files staged by the upload step, named by content
 *   /etc/docker/docker-tls/backup/         the host's files before the first run (for destroy)
 *   /etc/docker/docker-tls/prev/           the live files before the current change (rollback)
 *
 * Secrets travel only on stdin (the upload step), never in a command line: the scripts below are
 * the command lines, and they hold no key.
 */
import { createHash } from "crypto";
import type { InitKind } from "../config";

export const STATE_DIR = "/etc/docker/docker-tls";

/** A file the program manages on a host. */
export interface HostFile {
  path: string;
  /** Octal mode, e.g. "0444". */
  mode: string;
  content: string;
}

/** How DockerHost's scripts restart and watch dockerd on one host. */
export interface ScriptTarget {
  host: string;
  init: InitKind;
  /** With init `custom`: the command that restarts dockerd. */
  restartCommand?: string;
  /** The TLS port that must answer after a restart. */
  port: number;
  /** Seconds to wait for dockerd to come back before rolling back. */
  waitSeconds: number;
}

/** Quotes a string for POSIX sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Wraps a script into the command line that runs it, through `sudo -n` for a non-root user. */
export function remoteCommand(script: string, sudo: boolean): string {
  return `${sudo ? "sudo -n " : ""}sh -c ${shellQuote(script)}`;
}

export const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** stdin of the upload step: each file's content in base64 between FILE and END lines. */
export function renderUploadPayload(files: HostFile[]): string {
  return files
    .map((f) => {
      const b64 = Buffer.from(f.content, "utf8")
        .toString("base64")
        .replace(/.{1,76}/g, "$&\n");
      return `FILE\n${b64}END\n`;
    })
    .join("");
}

/** stdin of the apply step: `sha256 mode path` per file. Holds no secret. */
export function renderManifest(files: HostFile[]): string {
  return files.map((f) => `${sha256(f.content)} ${f.mode.replace(/^0(?=\d{3}$)/, "")} ${f.path}\n`).join("");
}

const header = (t: Pick<ScriptTarget, "host">) => `set -eu
umask 077
HOST=${shellQuote(t.host)}
STATE=${STATE_DIR}
say() { printf 'docker-tls[%s]: %s\\n' "$HOST" "$*" >&2; }
fail() { printf 'host %s: %s\\n' "$HOST" "$*" >&2; exit 1; }
`;

/**
 * Reads what the host has before the program changes anything: daemon.json, /etc/default/docker
 * and the docker unit's ExecStart, each in base64 under a `=== name` line (ABSENT when missing).
 * After the first run the backup is read instead, so the answer stays the host's original.
 * It also fails early, with the host's name, when dockerd or the expected init system is missing.
 */
export function renderProbeScript(t: Pick<ScriptTarget, "host" | "init">): string {
  const initCheck: Record<InitKind, string> = {
    systemd: `command -v systemctl >/dev/null 2>&1 || fail "init is systemd, but systemctl is missing here (use init: sysv or custom)"`,
    sysv: `command -v service >/dev/null 2>&1 || [ -x /etc/init.d/docker ] || fail "init is sysv, but there is no service command or /etc/init.d/docker"`,
    custom: `:`,
  };
  return `${header(t)}command -v dockerd >/dev/null 2>&1 || [ -x /usr/bin/dockerd ] || [ -x /usr/sbin/dockerd ] || fail "dockerd is not installed"
${initCheck[t.init]}
original() {
  if [ -e "$STATE/backup/files$1" ]; then echo "$STATE/backup/files$1"
  elif [ -e "$STATE/backup/absent$1" ]; then echo /nonexistent
  else echo "$1"; fi
}
section() {
  printf '=== %s\\n' "$1"
  f=$(original "$2")
  if [ -f "$f" ]; then base64 < "$f"; else echo ABSENT; fi
}
section daemon.json /etc/docker/daemon.json
section default-docker /etc/default/docker
printf '=== execstart\\n'
if command -v systemctl >/dev/null 2>&1 && systemctl cat docker.service >/dev/null 2>&1; then
  systemctl show -p ExecStart --value docker.service | head -n 1 | base64
else
  echo ABSENT
fi
`;
}

/** What the probe found. */
export interface ProbeResult {
  daemonJson?: string;
  defaultDocker?: string;
  /** The docker unit's ExecStart argv, if systemd runs docker. */
  execStart?: string[];
}

/** Parses the probe's stdout. */
export function parseProbe(stdout: string): ProbeResult {
  const sections = new Map<string, string>();
  let current: string | undefined;
  for (const line of stdout.split("\n")) {
    const m = /^=== (\S+)$/.exec(line);
    if (m) {
      current = m[1];
      sections.set(current, "");
    } else if (current !== undefined) {
      sections.set(current, sections.get(current) + line.trim());
    }
  }
  const decode = (name: string) => {
    const v = sections.get(name);
    return v === undefined || v === "ABSENT" ? undefined : Buffer.from(v, "base64").toString("utf8");
  };
  const execLine = decode("execstart");
  // systemctl prints `{ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// ; ignore_errors=no ; … }`.
  const argv = execLine ? /argv\[\]=([^;]*)/.exec(execLine)?.[1].trim().split(/\s+/) : undefined;
  return { daemonJson: decode("daemon.json"), defaultDocker: decode("default-docker"), execStart: argv };
}

/** Parses the original daemon.json; a missing file is `{}`; a broken one names the host. */
export function parseOriginalDaemonJson(host: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`host ${host}: /etc/docker/daemon.json is not a JSON object; fix or remove it first`);
}

/**
 * Stages the files sent on stdin (see renderUploadPayload) into $STATE/next/<sha256>, written
 * under umask 077 and renamed into place, so a half-written key never exists under its name.
 * Files no longer wanted are removed from the staging folder.
 */
export function renderUploadScript(t: Pick<ScriptTarget, "host">): string {
  // This is the first step that touches the host: remember /etc/docker's mode before it becomes 0700.
  return `${header(t)}if [ ! -e "$STATE/backup/etc-docker.mode" ]; then
  mode=$(stat -c %a /etc/docker 2>/dev/null || echo 755)
  mkdir -p "$STATE/backup"
  echo "$mode" > "$STATE/backup/etc-docker.mode"
fi
mkdir -p /etc/docker "$STATE/next"
chmod 0700 /etc/docker "$STATE" "$STATE/next"
in="$STATE/next/.incoming"
keep=" "
while IFS= read -r line; do
  case "$line" in
    FILE) : > "$in.b64" ;;
    END)
      base64 -d < "$in.b64" > "$in"
      sum=$(sha256sum "$in" | cut -d ' ' -f 1)
      mv -f "$in" "$STATE/next/$sum"
      keep="$keep$sum " ;;
    *) printf '%s\\n' "$line" >> "$in.b64" ;;
  esac
done
rm -f "$in.b64"
for f in "$STATE/next"/*; do
  [ -e "$f" ] || continue
  case "$keep" in *" $(basename "$f") "*) ;; *) rm -f "$f" ;; esac
done
`;
}

/** Shell functions shared by apply and restore: restart dockerd and watch it. */
function daemonControl(t: ScriptTarget): string {
  const restart: Record<InitKind, string> = {
    // StartLimitBurst=3 per 60 s in the stock unit: clear the counter so a retry is not refused.
    systemd: `systemctl daemon-reload; systemctl reset-failed docker.service >/dev/null 2>&1 || true; systemctl restart docker.service`,
    sysv: `service docker restart`,
    custom: t.restartCommand ?? "false",
  };
  const alive: Record<InitKind, string> = {
    // While systemd waits to restart a failed dockerd it reports activating/auto-restart: that is down.
    systemd: `case "$(systemctl show -p ActiveState --value docker.service):$(systemctl show -p SubState --value docker.service)" in activating:auto-restart) return 1 ;; active:*|activating:*|reloading:*) return 0 ;; esac; return 1`,
    sysv: `pid_alive`,
    custom: `pid_alive`,
  };
  const log: Record<InitKind, string> = {
    systemd: `journalctl -u docker.service --no-pager -o cat -n 20 2>/dev/null || true`,
    sysv: `tail -n 20 /var/log/docker.log 2>/dev/null || true`,
    custom: `journalctl -u docker.service --no-pager -o cat -n 20 2>/dev/null || tail -n 20 /var/log/docker.log 2>/dev/null || true`,
  };
  return `PORT=${t.port}
WAIT=${t.waitSeconds}
restart_daemon() { ${restart[t.init]}; }
daemon_log() { ${log[t.init]}; }
# A zombie still answers kill -0, so read the process state instead.
pid_alive() {
  pid=$(cat /var/run/docker.pid 2>/dev/null || pidof dockerd 2>/dev/null || true)
  pid=\${pid%% *}
  [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:.*Z' "/proc/$pid/status"
}
daemon_alive() { ${alive[t.init]}; }
# Listening on the TLS port, read from the kernel's socket tables (no ss or netstat needed).
listening() {
  hex=$(printf ':%04X' "$PORT")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}
# Waits, bounded, until dockerd runs and (when $1 is "tls") listens on the TLS port.
wait_daemon() {
  i=0
  while [ "$i" -lt $((WAIT * 4)) ]; do
    if daemon_alive; then
      if [ "$1" != tls ] || listening; then return 0; fi
    elif [ "$i" -ge 8 ]; then
      return 1
    fi
    sleep 0.25
    i=$((i + 1))
  done
  return 1
}
# install_file SRC DST MODE: copy next to DST, set owner and mode, then rename over DST.
install_file() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.docker-tls-tmp"
  chown root:root "$2.docker-tls-tmp"
  chmod "$3" "$2.docker-tls-tmp"
  mv -f "$2.docker-tls-tmp" "$2"
}
# restore_set DIR: put back the files saved under DIR/files and remove those marked DIR/absent.
restore_set() {
  if [ -d "$1/files" ]; then
    (cd "$1/files" && find . -type f) | while IFS= read -r f; do
      dst=\${f#.}
      mkdir -p "$(dirname "$dst")"
      cp -p "$1/files$dst" "$dst.docker-tls-tmp" && mv -f "$dst.docker-tls-tmp" "$dst"
    done
  fi
  if [ -d "$1/absent" ]; then
    (cd "$1/absent" && find . -type f) | while IFS= read -r f; do rm -f "\${f#.}"; done
  fi
}
# save_to DIR PATH: remember PATH (or that it does not exist) under DIR.
save_to() {
  if [ -e "$2" ]; then
    mkdir -p "$1/files$(dirname "$2")" && cp -p "$2" "$1/files$2"
  else
    mkdir -p "$1/absent$(dirname "$2")" && : > "$1/absent$2"
  fi
}
`;
}

/**
 * Installs the staged files listed on stdin (see renderManifest), then restarts dockerd only if
 * a file's content, mode or owner differs from the live one, and waits until it listens with TLS.
 * The first run saves the host's original files for destroy. If dockerd does not come back, the
 * previous files are put back, dockerd is restarted on them, and the script fails with the host's
 * name and the end of the daemon's log: the daemon is never left down.
 */
export function renderApplyScript(t: ScriptTarget): string {
  return `${header(t)}${daemonControl(t)}
manifest="$STATE/manifest"
cat > "$manifest.new"
while read -r sum mode path; do
  [ -f "$STATE/next/$sum" ] || fail "the staged copy of $path is missing; run pulumi up again"
done < "$manifest.new"
mv -f "$manifest.new" "$manifest"

# The host's originals, once per path, for destroy (the upload step saved /etc/docker's mode).
while read -r sum mode path; do
  [ -e "$STATE/backup/files$path" ] || [ -e "$STATE/backup/absent$path" ] || save_to "$STATE/backup" "$path"
done < "$manifest"

changed=""
while read -r sum mode path; do
  if [ ! -f "$path" ] || [ "$(sha256sum "$path" | cut -d ' ' -f 1)" != "$sum" ] || [ "$(stat -c %a:%u:%g "$path")" != "$mode:0:0" ]; then
    changed="$changed $path"
  fi
done < "$manifest"
chmod 0700 /etc/docker
chown root:root /etc/docker

if [ -z "$changed" ] && wait_daemon tls; then
  say "configuration unchanged; dockerd listens on port $PORT"
  exit 0
fi

rm -rf "$STATE/prev"
mkdir -p "$STATE/prev"
while read -r sum mode path; do save_to "$STATE/prev" "$path"; done < "$manifest"
while read -r sum mode path; do install_file "$STATE/next/$sum" "$path" "$mode"; done < "$manifest"
say "changed:$changed; restarting dockerd"
# A failed restart (systemctl reports it at once) needs no waiting; the sysv script may not report.
if restart_daemon && wait_daemon tls; then
  say "dockerd restarted; listening with TLS on port $PORT"
  exit 0
fi

log=$(daemon_log)
say "dockerd did not come back; restoring the previous configuration"
restore_set "$STATE/prev"
restart_daemon || true
if wait_daemon any; then back="dockerd is running again on the previous configuration"; else back="dockerd did NOT come back on the previous configuration either"; fi
fail "dockerd did not start with the new configuration (changed:$changed), so the previous files were restored; $back. Last lines of the daemon log:
$log"
`;
}

/**
 * Puts the host back as it was before the first run (destroy), and restarts dockerd on it.
 * systemd: docker.socket is restarted too, as the stock unit goes back to `-H fd://`: while dockerd
 * ran with its own listeners it replaced the socket file that docker.socket had bound.
 */
export function renderRestoreScript(t: ScriptTarget): string {
  return `${header(t)}${daemonControl(t)}
[ -d "$STATE/backup" ] || { say "nothing to restore"; exit 0; }
restore_set "$STATE/backup"
rmdir /etc/systemd/system/docker.service.d 2>/dev/null || true
[ -f "$STATE/backup/etc-docker.mode" ] && chmod "$(cat "$STATE/backup/etc-docker.mode")" /etc/docker
rm -rf "$STATE"
${t.init === "systemd" ? "systemctl stop docker.service >/dev/null 2>&1 || true; systemctl restart docker.socket >/dev/null 2>&1 || true\n" : ""}restart_daemon || true
wait_daemon any || fail "dockerd did not come back on the original configuration. Last lines of the daemon log:
$(daemon_log)"
say "original configuration restored; dockerd restarted"
`;
}

/** Removes the staging folder (destroy of the upload step). */
export function renderUnstageScript(t: Pick<ScriptTarget, "host">): string {
  return `${header(t)}rm -rf "$STATE/next"
`;
}
