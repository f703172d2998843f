# shellcheck shell=sh
# Step restore (destroy of apply): puts the host back as it was before the first run, and restarts
# dockerd on it.
[ -d "$STATE/backup" ] || { say "nothing to restore"; exit 0; }
restore_set "$STATE/backup"
rmdir /etc/systemd/system/docker.service.d 2>/dev/null || true
[ -f "$STATE/backup/etc-docker.mode" ] && chmod "$(cat "$STATE/backup/etc-docker.mode")" "$ETC_DOCKER"
rm -rf "$STATE"
case "$INIT" in
  # The stock unit goes back to `-H fd://`, but while dockerd ran with its own listeners it replaced
  # the socket file that docker.socket had bound: restart docker.socket too.
  systemd) systemctl stop docker.service >/dev/null 2>&1 || true; systemctl restart docker.socket >/dev/null 2>&1 || true ;;
esac
restart_daemon || true
wait_daemon any || fail "dockerd did not come back on the original configuration. Last lines of the daemon log:
$(daemon_log)"
say "original configuration restored; dockerd restarted"
