# shellcheck shell=sh
# Step unstage (destroy of upload): removes the staging folder, unless another entry owns the
# host now (a renamed entry's old upload is deleted after the new one staged its files).
if ! owned_by_me; then
  say "the host is managed by $(owner_of) now; its staged files stay"
  exit 0
fi
rm -rf "$STATE/next"
