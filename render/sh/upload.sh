# shellcheck shell=sh
# Step upload: stages the files sent on stdin (FILE, base64 lines, END per file) into
# $STATE/next/<sha256>, written under umask 077 and renamed into place, so a half-written key
# never exists under its name. Files no longer wanted are removed from the staging folder.
# It is the first step that writes to the host: it refuses a host another stack owns (check_owner)
# before writing anything, and when staging fails (a full disk) it removes what it wrote and the
# host is as it was. Then it records $ETC_DOCKER's mode (for destroy) and claims the host.
#
# The payload's first line, `VALID_FROM EPOCH WHAT`, is when the youngest client certificate the
# daemon must accept became valid: a host whose clock is behind that would refuse it as "not yet
# valid", so such a host is an error before anything is written.
check_owner
IFS= read -r first || first=""
case "$first" in
  "VALID_FROM "*)
    rest=${first#VALID_FROM }
    valid_from=${rest%% *}
    what=${rest#* }
    now=$(date -u +%s)
    if [ "$now" -lt "$valid_from" ]; then
      fail "its clock is $((valid_from - now)) s behind: $what, valid from $(date -u -d "@$valid_from" +%Y-%m-%dT%H:%M:%SZ), is not valid yet at the host's time $(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ), so dockerd would refuse it; nothing was changed. Set the host's clock (NTP) and run pulumi up again"
    fi
    ;;
  *) fail "the files on stdin do not start with VALID_FROM; nothing was changed" ;;
esac
etc_mode=$(stat -c %a "$ETC_DOCKER" 2>/dev/null || echo 755)
fresh=""
[ -d "$STATE" ] || fresh=yes
mkdir -p "$STATE/next"
in="$STATE/next/.incoming"
# Removes this run's partial files (and the state folder if this run made it), then fails.
staging_failed() {
  rm -f "$in" "$in.b64"
  [ -z "$fresh" ] || rm -rf "$STATE"
  fail "cannot stage the files in $STATE/next ($1); nothing was changed. Free space on the host ($(df -h "$ETC_DOCKER" 2>/dev/null | awk 'NR == 2 { print $4 " free on " $6 }')) and run pulumi up again"
}
keep=" "
while IFS= read -r line; do
  case "$line" in
    FILE) : > "$in.b64" || staging_failed "cannot write" ;;
    END)
      base64 -d < "$in.b64" > "$in" 2>/dev/null || staging_failed "cannot write a file"
      sum=$(sha256_of "$in")
      mv -f "$in" "$STATE/next/$sum" || staging_failed "cannot rename a file"
      keep="$keep$sum " ;;
    *) printf '%s\n' "$line" >> "$in.b64" 2>/dev/null || staging_failed "cannot write" ;;
  esac
done
rm -f "$in.b64"
for f in "$STATE/next"/*; do
  [ -e "$f" ] || continue
  case "$keep" in *" $(basename "$f") "*) ;; *) rm -f "$f" ;; esac
done
if [ ! -e "$STATE/backup/etc-docker.mode" ]; then
  mkdir -p "$STATE/backup"
  echo "$etc_mode" > "$STATE/backup/etc-docker.mode"
fi
chmod 0700 "$ETC_DOCKER" "$STATE" "$STATE/next"
claim
