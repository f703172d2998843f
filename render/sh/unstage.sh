# shellcheck shell=sh
# Step unstage (destroy of upload): removes the staging folder.
rm -rf "$STATE/next"
