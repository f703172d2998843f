# shellcheck shell=sh
# The library of every host script. render/scripts.ts sends one `sh -c` command line made of a
# prelude of quoted variables, then this file, then the step's script (probe.sh, upload.sh, ...).
# The prelude sets, for every step:
#   HOST        the host's name, for messages
#   STATE       the program's state folder (/etc/docker/docker-tls on hosts)
#   ETC_DOCKER  the folder that holds STATE and is made 0700 root (/etc/docker on hosts)
# and for the steps that know the target (probe: INIT only; apply and restore: all):
#   INIT             systemd, sysv or custom
#   PORT             the TLS port that must answer after a restart
#   WAIT             seconds to wait for dockerd before rolling back
#   RESTART_COMMAND  with init custom: the user's command that restarts dockerd
# POSIX sh (Debian's dash) and coreutils only. This text is part of a command line, so it holds
# no secret: secrets come on stdin.
set -eu
umask 077
say() { printf 'docker-tls[%s]: %s\n' "$HOST" "$*" >&2; }
fail() { printf 'host %s: %s\n' "$HOST" "$*" >&2; exit 1; }

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
    custom) journalctl -u docker.service --no-pager -o cat -n 20 2>/dev/null || tail -n 20 /var/log/docker.log 2>/dev/null || true ;;
  esac
}
# A zombie still answers kill -0, so read the process state instead.
pid_alive() {
  pid=$(cat /var/run/docker.pid 2>/dev/null || pidof dockerd 2>/dev/null || true)
  pid=${pid%% *}
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
