# shellcheck shell=sh
# Step probe: reads what the host has before the program changes anything: daemon.json,
# /etc/default/docker, the docker unit's ExecStart (its text, as in the unit), and the path and
# content of the --config-file dockerd was started with (config-file-path, config-file), each in
# base64 under a `=== name` line (ABSENT when missing). After the first run the backup is read
# instead, so the answer stays the host's original. It also fails early, with the host's name,
# when dockerd or the expected init system is missing, or when another project or stack manages
# the host (check_owner).
command -v dockerd >/dev/null 2>&1 || [ -x /usr/bin/dockerd ] || [ -x /usr/sbin/dockerd ] || fail "dockerd is not installed"
case "$INIT" in
  systemd) command -v systemctl >/dev/null 2>&1 || fail "init is systemd, but systemctl is missing here (use init: sysv or custom)" ;;
  sysv) command -v service >/dev/null 2>&1 || [ -x /etc/init.d/docker ] || fail "init is sysv, but there is no service command or /etc/init.d/docker" ;;
  custom) ;;
esac
check_owner
original() {
  if [ -e "$STATE/backup/files$1" ]; then echo "$STATE/backup/files$1"
  elif [ -e "$STATE/backup/absent$1" ]; then echo /nonexistent
  else echo "$1"; fi
}
section() {
  printf '=== %s\n' "$1"
  f=$(original "$2")
  if [ -f "$f" ]; then base64 < "$f"; else echo ABSENT; fi
}
section daemon.json /etc/docker/daemon.json
section default-docker /etc/default/docker
# The docker unit's ExecStart as the host set it. `systemctl show -p ExecStart` gives the one in
# effect, which after the first run is our drop-in's (no -H, no --config-file): so it is read from
# the unit's own files instead, the fragment, then its drop-ins in systemd's order (DropInPaths,
# space-separated), ours ($DROP_IN) left out.
unit_exec_start() {
  set --
  # shellcheck disable=SC2046 # split on purpose: unit file paths hold no spaces.
  for f in $(systemctl show -p FragmentPath --value docker.service) $(systemctl show -p DropInPaths --value docker.service); do
    if [ "$f" != "$DROP_IN" ] && [ -f "$f" ]; then set -- "$@" "$f"; fi
  done
  [ $# -gt 0 ] || return 0
  # As systemd reads them: a line ending in a backslash goes on with the next, lines starting with
  # # or ; are comments, and within [Service] an empty `ExecStart=` clears the command while any
  # other sets it, so the last one left is the unit's (a simple service has one). A systemd prefix
  # such as `-` stays on the command: the drop-in keeps it.
  awk '
    FNR == 1 { section = ""; line = "" }
    { line = line $0 }
    /\\$/ { sub(/\\$/, " ", line); next }
    { current = line; line = "" }
    current ~ /^[ \t]*[#;]/ { next }
    current ~ /^[ \t]*\[/ { section = current; gsub(/[ \t]/, "", section); next }
    section == "[Service]" && current ~ /^[ \t]*ExecStart[ \t]*=/ {
      sub(/^[ \t]*ExecStart[ \t]*=[ \t]*/, "", current)
      sub(/[ \t]+$/, "", current)
      exec_start = current
    }
    END { if (exec_start != "") print exec_start }
  ' "$@"
}
exec_start=""
if command -v systemctl >/dev/null 2>&1 && systemctl cat docker.service >/dev/null 2>&1; then
  exec_start=$(unit_exec_start)
fi
printf '=== execstart\n'
if [ -n "$exec_start" ]; then printf '%s\n' "$exec_start" | base64; else echo ABSENT; fi

# The --config-file dockerd was started with, if any, and that file: dockerd read the host's own
# settings from it, not from /etc/docker/daemon.json, and the drop-in or DOCKER_OPTS that the
# program writes no longer names it. With init systemd it is in the unit's ExecStart; with sysv in
# DOCKER_OPTS of /etc/default/docker (its original, as above). With custom the program does not
# change dockerd's command line, so it is not looked for.
# docker_opts FILE: DOCKER_OPTS as FILE sets it when sourced: the last assignment, after those
# before it when it refers to $DOCKER_OPTS (DOCKER_OPTS="$DOCKER_OPTS --flag").
docker_opts() {
  [ -f "$1" ] || return 0
  awk '
    /^[ \t]*(export[ \t]+)?DOCKER_OPTS=/ {
      value = $0
      sub(/^[ \t]*(export[ \t]+)?DOCKER_OPTS=/, "", value)
      opts = value ~ /\$\{?DOCKER_OPTS/ ? opts " " value : value
    }
    END { print opts }
  ' "$1"
}
# config_file_in TEXT: the path of TEXT's last --config-file (dockerd's flag parser keeps the last),
# given as `--config-file=PATH` or `--config-file PATH`. Quotes are dropped first, so that
# "--config-file=PATH" and --config-file='PATH' read the same (a path with spaces is not supported).
config_file_in() {
  printf '%s\n' "$1" | awk '
    {
      gsub(/["\047]/, "")
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^--config-file=/) path = substr($i, length("--config-file=") + 1)
        else if ($i == "--config-file" && i < NF) path = $(i + 1)
      }
    }
    END { print path }
  '
}
case "$INIT" in
  systemd) config_file=$(config_file_in "$exec_start") ;;
  sysv) config_file=$(config_file_in "$(docker_opts "$(original /etc/default/docker)")") ;;
  *) config_file="" ;;
esac
# dockerd opens a relative path from its working directory: / under systemd and `service`.
case "$config_file" in
  "" | /*) ;;
  *) config_file="/$config_file" ;;
esac
if [ -n "$config_file" ]; then
  printf '=== config-file-path\n'
  printf '%s' "$config_file" | base64
  section config-file "$config_file"
else
  printf '=== config-file-path\nABSENT\n=== config-file\nABSENT\n'
fi
