# shellcheck shell=sh
# Step apply: installs the staged files listed on stdin (`sha256 mode path restart-digest` lines,
# then `end`), then restarts dockerd only if a file's content, mode or owner differs from the live
# one, and waits until it serves TLS. When the only change is to daemon.json settings that dockerd
# applies on SIGHUP (the restart digest, the file without them, is the one installed before), it
# reloads dockerd instead, keeping the same process and its containers, and restarts only if the
# reload does not hold. With security.enforceDockerGroup it first removes the docker group's members
# that are not allowed (daemon.sh enforce_docker_group), on every run. It saves the host's original files for destroy the first time
# it sees each path. If dockerd does not come back, the previous files are put back, dockerd is
# restarted on them, and the script fails with the host's name and the end of the daemon's log:
# the daemon is never left down.
#
# A dropped SSH connection must not stop it half-way (files installed, dockerd not restarted): it
# ignores SIGPIPE and SIGHUP once the list is read, and marks a restart as pending before it
# installs anything, so that a run stopped anyway (killed, power lost) is finished by the next.
check_owner
mkdir -p "$STATE"
manifest="$STATE/manifest"
cat > "$manifest.new"
[ "$(tail -n 1 "$manifest.new")" = end ] || fail "the list of files on stdin is incomplete (the connection dropped?); nothing was changed"
sed -i '$d' "$manifest.new"
trap '' PIPE HUP
# The docker group first (security.enforceDockerGroup): on every run, whatever the files do.
enforce_docker_group

changed=""
reloadable=yes
while read -r sum mode path rkey; do
  live_sum=-
  live_mode=-
  if [ -f "$path" ]; then
    live_sum=$(sha256_of "$path")
    live_mode=$(stat -c %a:%u:%g "$path")
  fi
  if [ "$live_sum" != "$sum" ] || [ "$live_mode" != "$mode:0:0" ]; then
    [ -f "$STATE/next/$sum" ] || fail "the staged copy of $path is missing; run pulumi up --refresh (its audit stages and installs the files again)"
    changed="$changed $path"
    # Reloadable: the live file is the one installed last time, only its content changes, and the
    # part of it that needs a restart stays the same.
    before=$(awk -v p="$path" '$3 == p { print $1 ":" $2 ":" $4 }' "$manifest" 2>/dev/null || true)
    if [ "$live_sum" = - ] || [ "$before" != "$live_sum:$mode:$rkey" ] || [ "$live_mode" != "$mode:0:0" ]; then
      reloadable=""
    fi
  fi
done < "$manifest.new"
# The list of what is installed; the previous one comes back if this change is rolled back, so
# that destroy compares the live files with what is really in place.
rm -f "$manifest.prev"
[ ! -f "$manifest" ] || cp -p "$manifest" "$manifest.prev"
mv -f "$manifest.new" "$manifest"
claim

# The host's originals, once per path, for destroy (the upload step saved $ETC_DOCKER's mode). A
# live file that already is the planned one was installed by this program before its state folder
# was lost: what was there before is unknown, and destroy leaves that file as it is.
while read -r sum _ path _; do
  [ -e "$STATE/backup/files$path" ] || [ -e "$STATE/backup/absent$path" ] || [ -e "$STATE/backup/lost$path" ] || {
    if [ -f "$path" ] && [ "$(sha256_of "$path")" = "$sum" ]; then
      mkdir -p "$STATE/backup/lost$(dirname "$path")" && : > "$STATE/backup/lost$path"
    else
      save_to "$STATE/backup" "$path"
    fi
  }
done < "$manifest"
chmod 0700 "$ETC_DOCKER"
chown root:root "$ETC_DOCKER"

# After success no copy of the previous or staged server key is left (the backup is the host's own).
done_ok() {
  rm -rf "$STATE/prev" "$STATE/restart-pending" "$manifest.prev"
  rm -f "$STATE/next"/*
  say "$1"
  exit 0
}

if [ -z "$changed" ] && [ ! -e "$STATE/restart-pending" ] && wait_daemon tls; then
  done_ok "configuration unchanged; dockerd listens on port $PORT"
fi

rm -rf "$STATE/prev"
mkdir -p "$STATE/prev"
while read -r _ _ path _; do save_to "$STATE/prev" "$path"; done < "$manifest"
# Whatever stops this run from here on, the next one restarts dockerd on the files in place.
[ -e "$STATE/restart-pending" ] && reloadable=""
: > "$STATE/restart-pending"
while read -r sum mode path _; do
  case "$changed " in *" $path "*) install_file "$STATE/next/$sum" "$path" "$mode" ;; esac
done < "$manifest"

if [ -n "$changed" ] && [ -n "$reloadable" ] && daemon_alive && listening && serves_our_cert; then
  running=$(daemon_pid)
  say "changed:$changed (settings dockerd applies on SIGHUP); reloading dockerd"
  if reload_daemon && stays_up && [ "$(daemon_pid)" = "$running" ]; then
    done_ok "dockerd reloaded (same process, $running); serving its certificate with TLS on port $PORT"
  fi
  say "the reload did not hold; restarting dockerd instead"
fi
say "changed:${changed:- nothing (dockerd was down, or a restart was pending)}; restarting dockerd"
# A failed restart (systemctl reports it at once) needs no waiting; the sysv script may not report.
if restart_daemon && wait_daemon tls && stays_up; then
  done_ok "dockerd restarted; serving its certificate with TLS on port $PORT"
fi

log=$(daemon_log)
say "dockerd did not come back; restoring the previous configuration"
restore_set "$STATE/prev"
if [ -f "$manifest.prev" ]; then mv -f "$manifest.prev" "$manifest"; else rm -f "$manifest"; fi
rm -f "$STATE/restart-pending"
restart_daemon || true
if wait_daemon any; then back="dockerd is running again on the previous configuration"; else back="dockerd did NOT come back on the previous configuration either"; fi
rm -rf "$STATE/prev"
fail "dockerd did not start with the new configuration (changed:$changed), so the previous files were restored; $back. Last lines of the daemon log:
$log"
