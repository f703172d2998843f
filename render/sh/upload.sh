# shellcheck shell=sh
# Step upload: stages the files sent on stdin (FILE, base64 lines, END per file) into
# $STATE/next/<sha256>, written under umask 077 and renamed into place, so a half-written key
# never exists under its name. Files no longer wanted are removed from the staging folder.
# This is the first step that touches the host: remember $ETC_DOCKER's mode before it becomes 0700.
if [ ! -e "$STATE/backup/etc-docker.mode" ]; then
  mode=$(stat -c %a "$ETC_DOCKER" 2>/dev/null || echo 755)
  mkdir -p "$STATE/backup"
  echo "$mode" > "$STATE/backup/etc-docker.mode"
fi
mkdir -p "$ETC_DOCKER" "$STATE/next"
chmod 0700 "$ETC_DOCKER" "$STATE" "$STATE/next"
in="$STATE/next/.incoming"
keep=" "
while IFS= read -r line; do
  case "$line" in
    FILE) : > "$in.b64" ;;
    END)
      base64 -d < "$in.b64" > "$in"
      sum=$(sha256sum "$in" | cut -d ' ' -f 1)
      mv -f "$in" "$STATE/next/$sum"
      keep="$keep$sum " ;;
    *) printf '%s\n' "$line" >> "$in.b64" ;;
  esac
done
rm -f "$in.b64"
for f in "$STATE/next"/*; do
  [ -e "$f" ] || continue
  case "$keep" in *" $(basename "$f") "*) ;; *) rm -f "$f" ;; esac
done
