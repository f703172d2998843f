#!/usr/bin/env bash
# Measures toolchain/build.sh: a warm run (everything cached) and, with --cold, a cold build of
# the engine (empty binary cache and empty Go build cache; the module cache is kept, so this
# is the compile cost, not the download). Prints one line per measurement; the numbers measured
# on this project's 2-core machines are in toolchain/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

secs() { local s=$SECONDS; "$@" >/dev/null 2>&1; echo $((SECONDS - s)); }

bash "$here/build.sh" >/dev/null 2>&1 # make sure the warm case is warm
start=$(date +%s%N)
for _ in 1 2 3 4 5; do bash "$here/build.sh" >/dev/null 2>&1; done
echo "warm: $(( ($(date +%s%N) - start) / 5000000 )) ms per run (mean of 5)"

if [[ "${1:-}" == --cold ]]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  echo "cold: $(DOCKER_TLS_TOOLCHAIN=build GOCACHE="$scratch/gocache" DOCKER_TLS_CACHE="$scratch/cache" \
    DOCKER_TLS_PULUMI_HOME="$scratch/home" secs bash "$here/build.sh") s for the engine, the GetPluginInfo checks and the plugin installs"
fi
