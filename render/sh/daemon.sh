# shellcheck shell=sh
# The daemon control that the apply and restore steps share: restart or reload dockerd and wait
# until it serves TLS, install, save and restore files, and the docker group's members.
# render/scripts.ts puts it after lib.sh (whose say, fail and STATE it uses) and before the step;
# the steps that do not touch dockerd (probe, upload, unstage) go without it. It reads the prelude's
# INIT, PORT, TLS_CONNECT, SERVER_CERT, WAIT, RESTART_COMMAND, DOCKER_GROUP_ENFORCE,
# DOCKER_GROUP_ALLOWED and ROOT_DIR (listed in lib.sh).
restart_daemon() {
  case "$INIT" in
    # StartLimitBurst=3 per 60 s in the stock unit: clear the counter so a retry is not refused.
    systemd) systemctl daemon-reload; systemctl reset-failed docker.service >/dev/null 2>&1 || true; systemctl restart docker.service ;;
    sysv) service docker restart ;;
    # The user's command runs from its variable in its own sh, so its text (a trailing `# comment`,
    # quotes, `;`) cannot change the syntax of this script. None given fails like a failed restart.
    custom) [ -n "$RESTART_COMMAND" ] && sh -c "$RESTART_COMMAND" ;;
  esac
}
daemon_log() {
  case "$INIT" in
    systemd) journalctl -u docker.service --no-pager -o cat -n 20 2>/dev/null || true ;;
    sysv) tail -n 20 /var/log/docker.log 2>/dev/null || true ;;
    # journalctl without a docker unit succeeds with "-- No entries --": then the log file.
    custom)
      journal=$(journalctl -u docker.service --no-pager -o cat -n 20 2>/dev/null || true)
      case "$journal" in
        "" | "-- No entries --") tail -n 20 /var/log/docker.log 2>/dev/null || true ;;
        *) printf '%s\n' "$journal" ;;
      esac
      ;;
  esac
}
# dockerd's pid from its pid file, else from the process table (without systemd to ask).
pid_file_pid() {
  pid=$(cat /var/run/docker.pid 2>/dev/null || pidof dockerd 2>/dev/null || true)
  echo "${pid%% *}"
}
# A zombie still answers kill -0, so read the process state instead.
pid_alive() {
  pid=$(pid_file_pid)
  [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:.*Z' "/proc/$pid/status"
}
daemon_alive() {
  case "$INIT" in
    systemd)
      # While systemd waits to restart a failed dockerd it reports activating/auto-restart: that is down.
      case "$(systemctl show -p ActiveState --value docker.service):$(systemctl show -p SubState --value docker.service)" in
        activating:auto-restart) return 1 ;;
        active:* | activating:* | reloading:*) return 0 ;;
      esac
      return 1
      ;;
    *) pid_alive ;;
  esac
}
# Listening on the TLS port, read from the kernel's socket tables (no ss or netstat needed).
listening() {
  hex=$(printf ':%04X' "$PORT")
  # shellcheck disable=SC2002 # cat skips a missing tcp6 (IPv6 off) and goes on; awk would stop there.
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}
# The TLS port serves the installed certificate: a TLS handshake on the host itself (openssl
# s_client, without a client certificate: the server's certificate comes before it is asked for
# one), compared by SHA-256 with SERVER_CERT. Something else on the port, or dockerd still on an
# old certificate, is not "listening with TLS". A host without openssl gets the listener check
# alone, and the audit's TLS probe from the Pulumi machine still compares the fingerprint.
serves_our_cert() {
  command -v openssl >/dev/null 2>&1 || return 0
  want=$(openssl x509 -in "$SERVER_CERT" -noout -fingerprint -sha256 2>/dev/null) || return 1
  got=$(openssl s_client -connect "$TLS_CONNECT" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null) || return 1
  [ -n "$want" ] && [ "$want" = "$got" ]
}
# dockerd's process id, as its init system knows it.
daemon_pid() {
  case "$INIT" in
    systemd) systemctl show -p MainPID --value docker.service 2>/dev/null || true ;;
    *) pid_file_pid ;;
  esac
}
# A dockerd that answers and then crashes (and is restarted by systemd, again and again) is not up:
# the same process must still run, and serve, SETTLE seconds later.
stays_up() {
  first=$(daemon_pid)
  sleep "$SETTLE"
  daemon_alive && [ "$(daemon_pid)" = "$first" ] && listening && serves_our_cert
}
# Asks the running dockerd to read daemon.json again (SIGHUP: the stock unit's ExecReload).
reload_daemon() {
  case "$INIT" in
    systemd) systemctl reload docker.service ;;
    *) pid=$(daemon_pid); [ -n "$pid" ] && kill -HUP "$pid" ;;
  esac
}
# Waits, bounded, until dockerd runs and (when $1 is "tls") serves our certificate on the TLS port.
wait_daemon() {
  i=0
  while [ "$i" -lt $((WAIT * 4)) ]; do
    if daemon_alive; then
      if [ "$1" != tls ] || { listening && serves_our_cert; }; then return 0; fi
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
      dst=${f#.}
      mkdir -p "$(dirname "$dst")"
      cp -p "$1/files$dst" "$dst.docker-tls-tmp" && mv -f "$dst.docker-tls-tmp" "$dst"
    done
  fi
  if [ -d "$1/absent" ]; then
    (cd "$1/absent" && find . -type f) | while IFS= read -r f; do rm -f "${f#.}"; done
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
# The docker group: its members drive dockerd through its unix socket, as root in all but name (CIS
# Docker Benchmark 1.1.2). Only the local files are edited: members from a directory (LDAP, sssd)
# are not ours to change.
GROUP_FILE="${ROOT_DIR:-}/etc/group"
GSHADOW_FILE="${ROOT_DIR:-}/etc/gshadow"
PASSWD_FILE="${ROOT_DIR:-}/etc/passwd"
has_docker_group() { awk -F: '$1 == "docker" { f = 1 } END { exit !f }' "$GROUP_FILE" 2>/dev/null; }
# The docker group's members in the local group file, separated by spaces.
docker_group_members() {
  awk -F: '$1 == "docker" { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] != "") printf "%s ", m[i] }' "$GROUP_FILE" 2>/dev/null || true
}
# user_exists USER: a user of the host (NSS when there is getent, and the local passwd file).
user_exists() {
  if [ -z "${ROOT_DIR:-}" ] && command -v getent >/dev/null 2>&1 && getent passwd "$1" >/dev/null 2>&1; then return 0; fi
  awk -F: -v u="$1" '$1 == u { f = 1 } END { exit !f }' "$PASSWD_FILE" 2>/dev/null
}
# edit_docker_group FILE del|add USER: the docker line's member list (the 4th field, in group and
# gshadow alike) without or with USER. Under shadow-utils' lock (FILE.lock holding our pid, made
# exclusively: useradd, gpasswd and vigr wait for it), written to a copy with FILE's owner and mode
# and renamed over it, so that no reader ever sees half a file.
edit_docker_group() {
  [ -f "$1" ] || return 0
  n=0
  until (set -C; echo "$$" > "$1.lock") 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -lt 40 ] || { say "$1 stays locked ($1.lock)"; return 1; }
    sleep 0.25
  done
  if cp -p "$1" "$1.docker-tls-tmp" && awk -F: -v OFS=: -v op="$2" -v u="$3" '
      $1 == "docker" {
        n = split($4, m, ","); out = ""; seen = 0
        for (i = 1; i <= n; i++) {
          if (m[i] == "") continue
          if (m[i] == u) { seen = 1; if (op == "del") continue }
          out = out (out == "" ? "" : ",") m[i]
        }
        if (op == "add" && !seen) out = out (out == "" ? "" : ",") u
        $4 = out
      }
      { print }' "$1" > "$1.docker-tls-tmp" && mv -f "$1.docker-tls-tmp" "$1"; then
    edited=0
  else
    edited=1
    rm -f "$1.docker-tls-tmp"
  fi
  rm -f "$1.lock"
  return "$edited"
}
# docker_group del|add USER: with gpasswd when the host has it (it edits group and gshadow under
# their locks), else with edit_docker_group on both files.
docker_group() {
  case "$1" in del) flag=-d ;; *) flag=-a ;; esac
  if command -v gpasswd >/dev/null 2>&1; then
    if [ -n "${ROOT_DIR:-}" ]; then gpasswd -Q "$ROOT_DIR" "$flag" "$2" docker >/dev/null; else gpasswd "$flag" "$2" docker >/dev/null; fi
  else
    edit_docker_group "$GROUP_FILE" "$1" "$2" && edit_docker_group "$GSHADOW_FILE" "$1" "$2"
  fi
}
# enforce_docker_group (apply): with DOCKER_GROUP_ENFORCE yes, removes from the docker group every
# member not in DOCKER_GROUP_ALLOWED. The members it found the first time are kept in
# $STATE/docker-group.orig for destroy. A user whose primary group is docker cannot be removed from
# it this way: named here, and a fail in the audit.
enforce_docker_group() {
  [ "$DOCKER_GROUP_ENFORCE" = yes ] || return 0
  if ! has_docker_group; then say "no docker group in $GROUP_FILE: nothing to enforce"; return 0; fi
  members=$(docker_group_members)
  if [ ! -e "$STATE/docker-group.orig" ]; then
    printf '%s\n' "$members" > "$STATE/docker-group.orig.new" && mv -f "$STATE/docker-group.orig.new" "$STATE/docker-group.orig"
  fi
  removed=""
  for u in $members; do
    case " $DOCKER_GROUP_ALLOWED " in *" $u "*) continue ;; esac
    docker_group del "$u" || fail "cannot remove $u from the docker group; nothing else was changed"
    removed="$removed $u"
  done
  [ -z "$removed" ] || say "removed from the docker group (not in security.dockerGroup):$removed"
  gid=$(awk -F: '$1 == "docker" { print $3; exit }' "$GROUP_FILE")
  primary=""
  users=$(awk -F: -v g="$gid" '$4 == g { printf "%s ", $1 }' "$PASSWD_FILE" 2>/dev/null || true)
  for u in $users; do
    case " $DOCKER_GROUP_ALLOWED " in *" $u "*) ;; *) primary="$primary $u" ;; esac
  done
  [ -z "$primary" ] || say "docker is the primary group of$primary, which this program does not change: change it (usermod -g GROUP USER)"
}
# restore_docker_group (destroy): puts back the members that the docker group had before it was
# first enforced, those that still exist as users and are not members now; removes nobody.
restore_docker_group() {
  [ -f "$STATE/docker-group.orig" ] || return 0
  if ! has_docker_group; then say "no docker group in $GROUP_FILE any more: its members are not put back"; return 0; fi
  now=" $(docker_group_members)"
  back=""
  orig=$(cat "$STATE/docker-group.orig")
  for u in $orig; do
    case "$now" in *" $u "*) continue ;; esac
    if ! user_exists "$u"; then say "$u was in the docker group, and is no user any more: not put back"; continue; fi
    if docker_group add "$u"; then back="$back $u"; else say "cannot put $u back into the docker group"; fi
  done
  [ -z "$back" ] || say "put back into the docker group:$back"
  rm -f "$STATE/docker-group.orig"
}
