# shellcheck shell=sh
# Step apply: installs the staged files listed on stdin (`sha256 mode path` lines), then restarts
# dockerd only if a file's content, mode or owner differs from the live one, and waits until it
# listens with TLS. The first run saves the host's original files for destroy. If dockerd does not
# come back, the previous files are put back, dockerd is restarted on them, and the script fails
# with the host's name and the end of the daemon's log: the daemon is never left down.
manifest="$STATE/manifest"
cat > "$manifest.new"
while read -r sum mode path; do
  [ -f "$STATE/next/$sum" ] || fail "the staged copy of $path is missing; run pulumi up again"
done < "$manifest.new"
mv -f "$manifest.new" "$manifest"

# The host's originals, once per path, for destroy (the upload step saved $ETC_DOCKER's mode).
while read -r sum mode path; do
  [ -e "$STATE/backup/files$path" ] || [ -e "$STATE/backup/absent$path" ] || save_to "$STATE/backup" "$path"
done < "$manifest"

changed=""
while read -r sum mode path; do
  if [ ! -f "$path" ] || [ "$(sha256sum "$path" | cut -d ' ' -f 1)" != "$sum" ] || [ "$(stat -c %a:%u:%g "$path")" != "$mode:0:0" ]; then
    changed="$changed $path"
  fi
done < "$manifest"
chmod 0700 "$ETC_DOCKER"
chown root:root "$ETC_DOCKER"

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
