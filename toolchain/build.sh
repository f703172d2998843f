#!/usr/bin/env bash
# Builds (or reuses) the Pulumi engine, the Node.js language host and the tls, command and docker
# provider plugins, then installs the plugins into the project-local PULUMI_HOME.
#
# Versions come from package.json, so an SDK pin and its plugin cannot drift apart:
#   @pulumi/pulumi  -> pulumi, pulumi-language-nodejs
#   @pulumi/tls     -> pulumi-resource-tls
#   @pulumi/command -> pulumi-resource-command
#   @pulumi/docker  -> pulumi-resource-docker
#
# Each binary is cached in $DOCKER_TLS_CACHE/toolchain/<name>-<hash>, where the hash covers its
# version, its wrapper module (go.mod, go.sum, Go sources) and the Go version. A second run takes
# seconds; a changed pin rebuilds only that binary.
#
# Where a real Pulumi CLI with the three plugins at the pinned versions is already installed (a
# user's laptop), it is used and nothing is built. DOCKER_TLS_TOOLCHAIN=build forces the build,
# DOCKER_TLS_TOOLCHAIN=system forces the installed CLI.
#
# Output: writes $PULUMI_HOME/toolchain.env (sourced by toolchain/run.sh). Progress on stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="${DOCKER_TLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-tls}/toolchain"
home="${DOCKER_TLS_PULUMI_HOME:-$root/.pulumi-home}"
mode="${DOCKER_TLS_TOOLCHAIN:-auto}"

say() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

# Pinned version of an npm package, read from package.json (exact pins only).
pin() {
  local v
  v="$(sed -n "s/^ *\"$(printf '%s' "$1" | sed 's/[/]/\\&/g')\": *\"\\([0-9][^\"]*\\)\".*/\\1/p" "$root/package.json" | head -n1)"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json: $1 must be pinned to an exact version (found '${v:-nothing}')"
  printf '%s' "$v"
}

PULUMI_VERSION="$(pin @pulumi/pulumi)"
TLS_VERSION="$(pin @pulumi/tls)"
COMMAND_VERSION="$(pin @pulumi/command)"
DOCKER_VERSION="$(pin @pulumi/docker)"

write_env() { # bin_dir pulumi_home source
  mkdir -p "$home"
  cat >"$home/toolchain.env" <<EOF
# Written by toolchain/build.sh ($3); sourced by toolchain/run.sh.
DOCKER_TLS_BIN_DIR='$1'
PULUMI_HOME='$2'
EOF
}

# --- A real Pulumi install (a user's laptop) --------------------------------------------------
system_ready() {
  local cli plugins
  cli="$(command -v pulumi 2>/dev/null)" || return 1
  case "$cli" in "$cache"/*) return 1 ;; esac
  plugins="$(PULUMI_SKIP_UPDATE_CHECK=true pulumi plugin ls 2>/dev/null)" || return 1
  local p
  for p in "tls *resource *$TLS_VERSION" "command *resource *$COMMAND_VERSION" "docker *resource *$DOCKER_VERSION"; do
    grep -Eq "^$p( |$)" <<<"$plugins" || return 1
  done
}

if [[ "$mode" != build ]] && system_ready; then
  say "using the installed Pulumi CLI $(command -v pulumi) and its plugins; nothing to build"
  write_env "$(dirname "$(command -v pulumi)")" "${PULUMI_HOME:-$HOME/.pulumi}" system
  exit 0
fi
[[ "$mode" == system ]] && die "DOCKER_TLS_TOOLCHAIN=system, but no pulumi CLI with tls $TLS_VERSION, command $COMMAND_VERSION and docker $DOCKER_VERSION plugins is installed"

# --- Build from the Go module proxy ------------------------------------------------------------
command -v go >/dev/null || die "the Go toolchain is needed to build Pulumi here (https://go.dev/doc/install)"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--mod=readonly}"
gover="$(go env GOVERSION)"

# The CLI wrapper module must require the pkg/v3 release that package.json pins.
grep -Eq "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION( |$)" "$here/pulumi/go.mod" ||
  die "toolchain/pulumi/go.mod must require github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION (the @pulumi/pulumi pin)"

# build NAME MODULE_DIR PACKAGE VERSION LDFLAGS: prints the cached binary's path.
build() {
  local name="$1" dir="$here/$2" pkg="$3" version="$4" ldflags="$5"
  local hash out
  hash="$( (printf '%s\n' "$name" "$version" "$ldflags" "$gover"
            cd "$dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) \
              -not -path './smoke/*' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)"
  out="$cache/$name-$hash/$name"
  if [[ -x "$out" ]]; then
    [[ -z "${DOCKER_TLS_VERBOSE:-}" ]] || say "$name $version: cached ($out)"
  else
    say "$name $version: building from $2 (cold builds take minutes; see toolchain/README.md)"
    local start=$SECONDS
    mkdir -p "$cache/$name-$hash.tmp"
    (cd "$dir" && nice go build -trimpath -ldflags "-s -w $ldflags" -o "$cache/$name-$hash.tmp/$name" "$pkg") ||
      die "building $name failed (see the go output above)"
    rm -rf "$cache/$name-$hash" && mv "$cache/$name-$hash.tmp" "$cache/$name-$hash"
    say "$name $version: built in $((SECONDS - start)) s"
  fi
  printf '%s' "$out"
}

cli="$(build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_VERSION" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION")"
langhost="$(build pulumi-language-nodejs language-nodejs . "$PULUMI_VERSION" "-X main.version=$PULUMI_VERSION")"
declare -A plugin_versions=([tls]="$TLS_VERSION" [command]="$COMMAND_VERSION" [docker]="$DOCKER_VERSION")
declare -A plugin_bins
for name in tls command docker; do
  plugin_bins[$name]="$(build "pulumi-resource-$name" "provider-$name" . "${plugin_versions[$name]}" \
    "-X main.version=${plugin_versions[$name]}")"
done

# The engine finds the language host and the dynamic-provider launcher next to `pulumi` (it
# resolves its own path through symlinks, so these are hard links, not symlinks).
launcher="$here/language-nodejs/pulumi-resource-pulumi-nodejs"
bin="$cache/bin-$(printf '%s\n' "$cli" "$langhost" | cat - "$launcher" | sha256sum | cut -c1-16)"
if [[ ! -x "$bin/pulumi-resource-pulumi-nodejs" ]]; then
  mkdir -p "$bin.tmp"
  ln -f "$cli" "$langhost" "$bin.tmp/"
  install -m 0755 "$launcher" "$bin.tmp/"
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
fi

# --- Install the plugins into the project-local PULUMI_HOME --------------------------------------
export PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
for name in tls command docker; do
  version="${plugin_versions[$name]}"
  src="${plugin_bins[$name]}"
  dst="$home/plugins/resource-$name-v$version/pulumi-resource-$name"
  if [[ -x "$dst" ]] && cmp -s "$src" "$dst"; then
    continue
  fi
  say "installing plugin $name $version into $home"
  "$bin/pulumi" plugin install resource "$name" "$version" -f "$src" --reinstall >/dev/null ||
    die "pulumi plugin install resource $name $version failed"
done

write_env "$bin" "$home" build
say "ready: $("$bin/pulumi" version) with tls $TLS_VERSION, command $COMMAND_VERSION, docker $DOCKER_VERSION (PULUMI_HOME=$home)"
