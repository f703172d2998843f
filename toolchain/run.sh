#!/usr/bin/env bash
# Runs a command with the project's Pulumi toolchain: builds or reuses it (toolchain/build.sh),
# then runs the command with the Pulumi CLI and Node.js 22 first on PATH, the project-local
# PULUMI_HOME, and nothing that reaches for the internet (no update check, no plugin downloads:
# a missing plugin is an error, not a hang).
#   bash toolchain/run.sh pulumi stack ls
#
# The docker CLI's variables are cleared: the upstream docker provider applies DOCKER_HOST,
# DOCKER_CERT_PATH and DOCKER_TLS_VERIFY over the endpoint it is given, and DOCKER_CONTEXT
# overrides it, so a shell that exported them (as `npm start` and `npm run client` suggest) would
# point the program's endpoint checks at another daemon. The program warns when it sees one set.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

bash "$here/build.sh"
# shellcheck source=/dev/null
source "${DOCKER_TLS_PULUMI_HOME:-$root/.pulumi-home}/toolchain.env"
export PATH="$DOCKER_TLS_BIN_DIR:$root/node_modules/.bin:$PATH"
export PULUMI_HOME PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_CERT_PATH DOCKER_TLS_VERIFY
exec "$@"
