# shellcheck shell=sh
# The library of every host script. render/scripts.ts sends one `sh -c` command line made of a
# prelude of quoted variables, then this file, then for apply and restore daemon.sh (the daemon
# control they share), then the step's script (probe.sh, upload.sh, ...).
# The prelude sets, for every step:
#   HOST        the host's name, for messages
#   STATE       the program's state folder (/etc/docker/docker-tls on hosts)
#   ETC_DOCKER  the folder that holds STATE and is made 0700 root (/etc/docker on hosts)
#   OWNER       who runs this step: PROJECT/STACK/ENTRY (the Pulumi project and stack, the host entry)
#   TAKE_OVER   yes when the entry may take the host from another project or stack, else no
# and for the steps that know the target (probe: INIT only; apply and restore: all):
#   INIT             systemd, sysv or custom
#   PORT             the TLS port that must answer after a restart
#   TLS_CONNECT      ADDRESS:PORT on the host itself where that port answers (127.0.0.1:2376)
#   SERVER_CERT      the installed server certificate, which that port must serve
#   WAIT             seconds to wait for dockerd before rolling back
#   RESTART_COMMAND  with init custom: the user's command that restarts dockerd
#   DOCKER_GROUP_ENFORCE  yes when apply removes the docker group's members not allowed, else no
#   DOCKER_GROUP_ALLOWED  the members allowed (security.dockerGroup), separated by spaces
#   ROOT_DIR         (tests only, unset on hosts) a folder standing for / for the group files
# and for the probe only:
#   DROP_IN          our systemd drop-in, left out when the probe reads the unit's ExecStart
# POSIX sh (Debian's dash) and coreutils only. This text is part of a command line, so it holds
# no secret: secrets come on stdin.
set -eu
umask 077
# Messages go to stderr; a closed stderr (the SSH connection dropped) must not stop a step.
say() { printf 'docker-tls[%s]: %s\n' "$HOST" "$*" >&2 || true; }
fail() {
  printf 'host %s: %s\n' "$HOST" "$*" >&2 || true
  exit 1
}

# sha256_of FILE: its content's SHA-256, hex.
sha256_of() { sha256sum "$1" | cut -d ' ' -f 1; }

# The owner record, $STATE/owner: PROJECT/STACK/ENTRY on its first line, then `since DATE`. Every
# step that changes the host checks it first; upload and apply write it.
owner_of() { head -n 1 "$STATE/owner" 2>/dev/null || true; }
# A state folder from before owner records, or one that lost its record, belongs to nobody.
owned_by_me() { current=$(owner_of); [ -z "$current" ] || [ "$current" = "$OWNER" ]; }
# check_owner: fails, before anything changes, when another project or stack manages this host
# (unless TAKE_OVER is yes). Another entry of this same project and stack is this entry renamed,
# or re-addressed: it adopts the host and its backups, and the old entry's delete leaves it alone.
check_owner() {
  current=$(owner_of)
  case "$current" in
    "" | "$OWNER") return 0 ;;
    "${OWNER%/*}"/*) say "adopting the host from entry ${current##*/} of this stack (renamed or re-addressed)"; return 0 ;;
  esac
  if [ "$TAKE_OVER" = yes ]; then
    say "taking the host over from $current (takeOver is set)"
    return 0
  fi
  since=$(sed -n 's/^since //p' "$STATE/owner" 2>/dev/null || true)
  fail "is managed by $current (project/stack/host entry) since ${since:-an unknown date}; nothing was changed. Destroy it there first, or set takeOver: true on this host entry to take it over (its original files stay the ones saved by $current)"
}
# claim: records this entry as the host's owner.
claim() {
  [ "$(owner_of)" = "$OWNER" ] && return 0
  printf '%s\nsince %s\n' "$OWNER" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$STATE/owner.new"
  mv -f "$STATE/owner.new" "$STATE/owner"
}
