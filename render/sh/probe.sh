# shellcheck shell=sh
# Step probe: reads what the host has before the program changes anything: daemon.json,
# /etc/default/docker and the docker unit's ExecStart, each in base64 under a `=== name` line
# (ABSENT when missing). After the first run the backup is read instead, so the answer stays the
# host's original. It also fails early, with the host's name, when dockerd or the expected init
# system is missing, or when another project or stack manages the host (check_owner).
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
printf '=== execstart\n'
if command -v systemctl >/dev/null 2>&1 && systemctl cat docker.service >/dev/null 2>&1; then
  systemctl show -p ExecStart --value docker.service | head -n 1 | base64
else
  echo ABSENT
fi
