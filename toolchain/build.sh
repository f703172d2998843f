#!/usr/bin/env bash
# Makes the Pulumi toolchain available: the engine (CLI), the Node.js language host and the upstream
# tls, command and docker provider plugins, then installs the plugins into the project-local
# PULUMI_HOME. Nothing here imitates an upstream binary: each one is upstream's own.
#
# Versions come from package.json, so an SDK pin and its plugin cannot drift apart:
#   @pulumi/pulumi  -> pulumi (the engine)
#   @pulumi/tls     -> pulumi-resource-tls
#   @pulumi/command -> pulumi-resource-command
#   @pulumi/docker  -> pulumi-resource-docker
#
# Where each comes from, first match wins:
#   1. A real Pulumi install with the three plugins at the pinned versions (a user's laptop): used
#      as it is, nothing is built or copied. DOCKER_TLS_TOOLCHAIN=system insists on it.
#   2. Otherwise the engine is built from github.com/pulumi/pulumi/pkg/v3 (Go module proxy) and
#      cached in $DOCKER_TLS_CACHE/toolchain/<name>-<hash>; and each plugin is taken from
#        a. an installed Pulumi's plugin folder ($HOME/.pulumi/plugins/resource-NAME-vVERSION), or
#        b. a directory of plugin binaries: $DOCKER_TLS_PLUGIN_DIR, by default
#           ../shared/upstream-plugins beside the project where it exists; a binary there is used
#           only if it reports the pinned version (its GetPluginInfo, toolchain/plugin-info.js);
#      and the language host (pulumi-language-nodejs, with the dynamic-provider launcher
#      pulumi-resource-pulumi-nodejs) from that directory, or from beside an installed `pulumi`.
#   A plugin found nowhere is an error that names it and the command that installs it.
#
# Output: writes $PULUMI_HOME/toolchain.env (sourced by toolchain/run.sh). Progress on stderr; the
# last line says where each binary came from.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="${DOCKER_TLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-tls}/toolchain"
home="${DOCKER_TLS_PULUMI_HOME:-$root/.pulumi-home}"
mode="${DOCKER_TLS_TOOLCHAIN:-auto}"
user_home="${PULUMI_HOME:-$HOME/.pulumi}"
[[ "$user_home" == "$home" ]] && user_home="$HOME/.pulumi"
plugin_dir="${DOCKER_TLS_PLUGIN_DIR:-}"
if [[ -z "$plugin_dir" && -d "$root/../shared/upstream-plugins" ]]; then
  plugin_dir="$(cd "$root/../shared/upstream-plugins" && pwd)"
fi

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
declare -A plugin_versions=([tls]="$(pin @pulumi/tls)" [command]="$(pin @pulumi/command)" [docker]="$(pin @pulumi/docker)")
PLUGINS=(tls command docker)

write_env() { # bin_dir pulumi_home sources
  mkdir -p "$home"
  cat >"$home/toolchain.env" <<EOF
# Written by toolchain/build.sh; sourced by toolchain/run.sh.
# $3
DOCKER_TLS_BIN_DIR='$1'
PULUMI_HOME='$2'
EOF
}

# --- 1. A real Pulumi install (a user's laptop) -----------------------------------------------------
system_ready() {
  local cli plugins p
  cli="$(command -v pulumi 2>/dev/null)" || return 1
  case "$cli" in "$cache"/*) return 1 ;; esac
  plugins="$(PULUMI_SKIP_UPDATE_CHECK=true pulumi plugin ls 2>/dev/null)" || return 1
  for p in "${PLUGINS[@]}"; do
    grep -Eq "^$p *resource *${plugin_versions[$p]}( |$)" <<<"$plugins" || return 1
  done
}

if [[ "$mode" != build ]] && system_ready; then
  say "ready: the installed Pulumi CLI $(command -v pulumi), its language host and its plugins tls ${plugin_versions[tls]}, command ${plugin_versions[command]}, docker ${plugin_versions[docker]}; nothing built"
  write_env "$(dirname "$(command -v pulumi)")" "${PULUMI_HOME:-$HOME/.pulumi}" "source: the installed Pulumi CLI and plugins"
  exit 0
fi
[[ "$mode" == system ]] && die "DOCKER_TLS_TOOLCHAIN=system, but no pulumi CLI with tls ${plugin_versions[tls]}, command ${plugin_versions[command]} and docker ${plugin_versions[docker]} plugins is installed"

[[ -f "$root/node_modules/@pulumi/pulumi/package.json" ]] || die "node_modules is missing: run npm ci first"

# Identifies files by path, size and modification time: hashing the plugins (about 200 MB) on
# every npm script would cost seconds.
fingerprint() { stat -L -c '%n %s %Y' "$@" | sha256sum | cut -c1-16; }

# The version BINARY (a resource or language plugin) reports, cached by its fingerprint: asking
# starts the plugin, and every npm script runs this file.
reported_version() { # kind binary
  local stamp v
  stamp="$cache/plugin-info/$(fingerprint "$2")"
  if [[ ! -s "$stamp" ]]; then
    v="$(node "$here/plugin-info.js" "$1" "$2")" || return 1
    mkdir -p "$cache/plugin-info" && printf '%s\n' "$v" >"$stamp"
  fi
  sed 's/^v//' "$stamp"
}

# --- 2. The engine, built from the Go module proxy ----------------------------------------------------
command -v go >/dev/null || die "the Go toolchain is needed to build the Pulumi engine here (https://go.dev/doc/install)"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--mod=readonly}"
gover="$(go env GOVERSION)"

# The CLI wrapper module must require the pkg/v3 release that package.json pins.
grep -Eq "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION( |$)" "$here/pulumi/go.mod" ||
  die "toolchain/pulumi/go.mod must require github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION (the @pulumi/pulumi pin)"

# The cache key covers the version, the ldflags, the Go version and the wrapper module.
ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
hash="$( (printf '%s\n' pulumi "$PULUMI_VERSION" "$ldflags" "$gover"
          cd "$here/pulumi" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum) |
        sha256sum | cut -c1-16)"
cli="$cache/pulumi-$hash/pulumi"
if [[ ! -x "$cli" ]]; then
  say "pulumi $PULUMI_VERSION: building the engine from github.com/pulumi/pulumi/pkg/v3 (a cold build takes minutes; see toolchain/README.md)"
  start=$SECONDS
  mkdir -p "$cache/pulumi-$hash.tmp"
  (cd "$here/pulumi" && nice go build -trimpath -ldflags "-s -w $ldflags" \
    -o "$cache/pulumi-$hash.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) ||
    die "building the pulumi engine failed (see the go output above)"
  rm -rf "$cache/pulumi-$hash" && mv "$cache/pulumi-$hash.tmp" "$cache/pulumi-$hash"
  say "pulumi $PULUMI_VERSION: built in $((SECONDS - start)) s"
fi

# --- The language host: upstream's, from the plugin directory or beside an installed pulumi ---------
langhost="" launcher="" langhost_from=""
for dir in "$plugin_dir" "$(dirname "$(command -v pulumi-language-nodejs 2>/dev/null || echo /nonexistent/x)")"; do
  if [[ -n "$dir" && -x "$dir/pulumi-language-nodejs" && -x "$dir/pulumi-resource-pulumi-nodejs" ]]; then
    langhost="$dir/pulumi-language-nodejs" launcher="$dir/pulumi-resource-pulumi-nodejs" langhost_from="$dir"
    break
  fi
done
[[ -n "$langhost" ]] || die "no Node.js language host: put upstream's pulumi-language-nodejs and pulumi-resource-pulumi-nodejs in \$DOCKER_TLS_PLUGIN_DIR (${plugin_dir:-unset}), or install Pulumi (https://www.pulumi.com/docs/install/)"
langhost_version="$(reported_version language "$langhost")" || die "$langhost does not answer GetPluginInfo"
# It must speak the engine's protocol: the same major version (the 3.260 host runs with the 3.276 engine).
[[ "${langhost_version%%.*}" == "${PULUMI_VERSION%%.*}" ]] ||
  die "$langhost reports $langhost_version; the engine is $PULUMI_VERSION (major versions differ)"

# The engine finds the language host and the launcher next to `pulumi` (it resolves its own path
# through symlinks, so these are copies or hard links, not symlinks).
bin="$cache/bin-$(fingerprint "$cli" "$langhost" "$launcher")"
if [[ ! -x "$bin/pulumi-resource-pulumi-nodejs" ]]; then
  mkdir -p "$bin.tmp"
  ln -f "$cli" "$bin.tmp/"
  install -m 0755 "$langhost" "$launcher" "$bin.tmp/"
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
fi

# --- The provider plugins: upstream's, from an installed Pulumi or the plugin directory -------------
export PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
sources="pulumi $PULUMI_VERSION built from source; language host $langhost_version from $langhost_from"
for name in "${PLUGINS[@]}"; do
  version="${plugin_versions[$name]}"
  src="" from="" tried=()
  installed="$user_home/plugins/resource-$name-v$version/pulumi-resource-$name"
  if [[ -x "$installed" ]]; then
    src="$installed" from="$user_home/plugins"
  elif [[ -n "$plugin_dir" ]]; then
    candidate="$plugin_dir/pulumi-resource-$name"
    if [[ -x "$candidate" ]]; then
      reported="$(reported_version resource "$candidate")" || reported="no answer to GetPluginInfo"
      if [[ "$reported" == "$version" ]]; then
        src="$candidate" from="$plugin_dir"
      else
        tried+=("$candidate reports $reported")
      fi
    else
      tried+=("$candidate is missing")
    fi
  fi
  if [[ -z "$src" ]]; then
    die "no upstream $name plugin $version (the @pulumi/$name pin): not in $user_home/plugins${plugin_dir:+, and ${tried[*]}}.
  On a connected machine: pulumi plugin install resource $name $version
  Or put upstream's pulumi-resource-$name $version in a directory named by DOCKER_TLS_PLUGIN_DIR."
  fi
  dst="$home/plugins/resource-$name-v$version/pulumi-resource-$name"
  if ! { [[ -x "$dst" ]] && cmp -s "$src" "$dst"; }; then
    say "installing plugin $name $version from $from into $home"
    "$bin/pulumi" plugin install resource "$name" "$version" -f "$src" --reinstall >/dev/null ||
      die "pulumi plugin install resource $name $version -f $src failed"
  fi
  sources+="; $name $version from $from"
done

write_env "$bin" "$home" "sources: $sources"
say "ready: $sources (PULUMI_HOME=$home)"
