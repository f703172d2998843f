# shellcheck shell=sh
# The drift audit's look at a host (components/audit/inspect.ts runs it over SSH, as root, through
# `sudo -n` for other users, and parses its output). Not a DockerHost step: it does not use lib.sh
# and changes nothing. render/scripts.ts's renderInspectScript puts a prelude of quoted values
# before it:
#   INIT  systemd, sysv or custom: where dockerd's process is found
#   PORT  the TLS port
#   STATE the program's state folder (its owner record)
#   and the managed files' paths as the positional parameters (`set -- PATH...`).
# POSIX sh and coreutils only. One line per fact:
#   file SHA256 MODE OWNER PATH   (`-` for each of the three when absent)
#   running yes|no, cmdline BASE64 (dockerd's argv, NUL-separated), config BASE64|- (its daemon.json)
#   listening yes|no              (a socket listens on the TLS port, from the kernel's tables)
#   owner PROJECT/STACK/ENTRY     (the first line of $STATE/owner; empty when there is none)
#   clock EPOCH                   (the host's time, for the clock's offset from the Pulumi machine)
set -u
printf 'clock %s\n' "$(date -u +%s)"
printf 'owner %s\n' "$(head -n 1 "$STATE/owner" 2>/dev/null || true)"
for f in "$@"; do
  if [ -f "$f" ]; then
    printf 'file %s %s %s %s\n' "$(sha256sum < "$f" | cut -d ' ' -f 1)" "$(stat -c %a "$f")" "$(stat -c %U:%G "$f")" "$f"
  else
    printf 'file - - - %s\n' "$f"
  fi
done
# Where dockerd's process is: systemd knows it; otherwise the pid file dockerd writes.
pid=""
case "$INIT" in
  systemd)
    if command -v systemctl >/dev/null 2>&1; then
      case "$(systemctl show -p ActiveState --value docker.service 2>/dev/null)" in
        active|reloading) pid=$(systemctl show -p MainPID --value docker.service 2>/dev/null || true) ;;
      esac
    fi
    ;;
  *) pid=$(cat /var/run/docker.pid 2>/dev/null || true) ;;
esac
pid=${pid%% *}
if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" \
  && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
  echo "running yes"
  printf 'cmdline '; base64 < "/proc/$pid/cmdline" | tr -d '\n'; echo
  cfg=$(tr '\0' '\n' < "/proc/$pid/cmdline" | awk 'f { print; exit } /^--config-file=/ { sub(/^--config-file=/, ""); print; exit } /^--config-file$/ { f = 1 }')
  cfg=${cfg:-/etc/docker/daemon.json}
  if [ -f "$cfg" ]; then printf 'config '; base64 < "$cfg" | tr -d '\n'; echo; else echo "config -"; fi
else
  echo "running no"
fi
hex=$(printf ':%04X' "$PORT")
if cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'; then
  echo "listening yes"
else
  echo "listening no"
fi
