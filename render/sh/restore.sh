# shellcheck shell=sh
# Step restore (destroy of apply): puts the host back as it was before the first run, and restarts
# dockerd on it. Only the owner does (a renamed entry's old apply is deleted after the new entry
# adopted the host), and only when the managed files are still the ones it installed: a file
# changed since by hand or by other tools is not overwritten; then nothing is restored, the
# originals stay in $STATE/backup, and the message lists what differs. Members removed from the
# docker group by the enforcement are put back in either case (daemon.sh restore_docker_group).
[ -d "$STATE/backup" ] || { say "nothing to restore"; exit 0; }
if ! owned_by_me; then
  say "the host is managed by $(owner_of) now; leaving it as it is"
  exit 0
fi
# The docker group's members from before enforcement, whatever happens to the files.
restore_docker_group
differs=""
if [ -f "$STATE/manifest" ]; then
  while read -r sum _ path _; do
    if [ -f "$path" ] && [ "$(sha256_of "$path")" != "$sum" ]; then differs="$differs $path"; fi
  done < "$STATE/manifest"
fi
if [ -n "$differs" ]; then
  rm -f "$STATE/owner" "$STATE/manifest"
  rm -rf "$STATE/next" "$STATE/prev"
  say "changed on the host since this program installed them:$differs. Nothing was restored, so that those changes are not lost; the host's original files are in $STATE/backup (files/ to copy back, absent/ to remove)"
  exit 0
fi
restore_set "$STATE/backup"
rmdir /etc/systemd/system/docker.service.d 2>/dev/null || true
[ -f "$STATE/backup/etc-docker.mode" ] && chmod "$(cat "$STATE/backup/etc-docker.mode")" "$ETC_DOCKER"
lost=""
[ -d "$STATE/backup/lost" ] && lost=$(cd "$STATE/backup/lost" && find . -type f | sed 's/^\.//' | tr '\n' ' ')
rm -rf "$STATE"
case "$INIT" in
  # The stock unit goes back to `-H fd://`, but while dockerd ran with its own listeners it replaced
  # the socket file that docker.socket had bound: restart docker.socket too.
  systemd) systemctl stop docker.service >/dev/null 2>&1 || true; systemctl restart docker.socket >/dev/null 2>&1 || true ;;
esac
restart_daemon || true
wait_daemon any || fail "dockerd did not come back on the original configuration. Last lines of the daemon log:
$(daemon_log)"
if [ -n "$lost" ]; then
  say "original configuration restored, but for $lost: the program's state folder was lost before, so what was there first is unknown and they stay as they are; dockerd restarted"
else
  say "original configuration restored; dockerd restarted"
fi
