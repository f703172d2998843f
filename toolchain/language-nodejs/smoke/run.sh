#!/usr/bin/env bash
# End-to-end check of pulumi-language-nodejs and pulumi-resource-pulumi-nodejs
# with the real engine: up, no-change up, stack output, refresh, destroy, a
# failing program, and one Automation API run. Everything lives in a temp dir.
#
#   toolchain/language-nodejs/smoke/run.sh [BIN_DIR]   (default /tmp/tc/bin)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin=${1:-/tmp/tc/bin}

work=$(mktemp -d /tmp/langhost-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
prog=$work/prog
mkdir -p "$prog" "$work/home" "$work/state"

# The program resolves @pulumi/pulumi, ts-node and typescript from the project.
ln -s "$repo/node_modules" "$prog/node_modules"
cp "$here/index.ts" "$here/automation.js" "$prog/"
cat >"$prog/Pulumi.yaml" <<'EOF'
name: langhost-smoke
runtime:
  name: nodejs
  options:
    nodeargs: --no-deprecation
EOF
cat >"$prog/package.json" <<'EOF'
{ "name": "langhost-smoke", "private": true, "main": "index.ts",
  "dependencies": { "@pulumi/pulumi": "*" } }
EOF
cat >"$prog/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "strict": true, "target": "ES2022", "module": "commonjs", "moduleResolution": "node",
    "types": ["node"], "skipLibCheck": true
  },
  "files": ["index.ts"]
}
EOF

export PATH="$bin:$repo/node_modules/.bin:$PATH"
export PULUMI_HOME=$work/home
export PULUMI_BACKEND_URL=file://$work/state
export PULUMI_CONFIG_PASSPHRASE=smoke-passphrase
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
cd "$prog"

fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== $*"; }
expect() { grep -q -- "$1" "$2" || { cat "$2"; fail "expected '$1' in output of $3"; }; }

step "stack init + config"
pulumi stack init dev --non-interactive
pulumi config set greeting hello
pulumi config set --secret token s3cr3t

step "up"
pulumi up --yes --non-interactive >"$work/up.txt" 2>&1 || { cat "$work/up.txt"; fail "up"; }
cat "$work/up.txt"
expect "smoke: greeting is hello" "$work/up.txt" up
expect "smoke: hello from console.log" "$work/up.txt" up
expect "+ 2 created" "$work/up.txt" up
expect "smoke: execArgv=--no-deprecation" "$work/up.txt" up
expect 'smoke: secretKeys=\["langhost-smoke:token"\]' "$work/up.txt" up

step "second up shows no changes"
pulumi up --yes --non-interactive >"$work/up2.txt" 2>&1 || { cat "$work/up2.txt"; fail "second up"; }
expect "2 unchanged" "$work/up2.txt" "second up"
grep -q "created\|updated\|replaced" "$work/up2.txt" && { cat "$work/up2.txt"; fail "second up changed something"; }

step "stack output"
pulumi stack output --json --show-secrets | tee "$work/out.json"
expect '"echoLength": 5' "$work/out.json" "stack output"
expect '"tokenOut": "s3cr3t"' "$work/out.json" "stack output"
pulumi stack output tokenOut | tee "$work/out-secret.txt"
expect "\[secret\]" "$work/out-secret.txt" "stack output tokenOut"

step "refresh"
pulumi refresh --yes --non-interactive >"$work/refresh.txt" 2>&1 || { cat "$work/refresh.txt"; fail "refresh"; }
expect "2 unchanged" "$work/refresh.txt" refresh

step "about"
pulumi about >"$work/about.txt" 2>&1 || { cat "$work/about.txt"; fail "about"; }
expect "executable='.*node' version='22" "$work/about.txt" about
expect "@pulumi/pulumi *3.276.0" "$work/about.txt" about

step "throwing program"
if SMOKE_FAIL=throw pulumi up --yes --non-interactive >"$work/fail.txt" 2>&1; then
	cat "$work/fail.txt"; fail "up of a throwing program succeeded"
fi
cat "$work/fail.txt"
expect "smoke: deliberate failure" "$work/fail.txt" "failing up"
n=$(grep -c "Error: smoke: deliberate failure" "$work/fail.txt" || true)
[ "$n" = 1 ] || fail "program error shown $n times, want 1"
grep -q "non-zero exit code" "$work/fail.txt" && fail "host added a generic exit-code error"

step "program calling process.exit(3)"
if SMOKE_FAIL=exit pulumi up --yes --non-interactive >"$work/exit.txt" 2>&1; then
	cat "$work/exit.txt"; fail "up of an exiting program succeeded"
fi
cat "$work/exit.txt"
expect "Program exited with non-zero exit code: 3" "$work/exit.txt" "exiting up"

step "destroy"
pulumi destroy --yes --non-interactive >"$work/destroy.txt" 2>&1 || { cat "$work/destroy.txt"; fail "destroy"; }
expect "2 deleted" "$work/destroy.txt" destroy

step "automation api"
node --version
node automation.js "$prog" >"$work/auto.txt" 2>&1 || { cat "$work/auto.txt"; fail "automation"; }
cat "$work/auto.txt"
expect "automation: up succeeded, echoLength=3, tokenOut secret=true" "$work/auto.txt" automation
expect '"same":2' "$work/auto.txt" automation
expect "automation: destroy succeeded" "$work/auto.txt" automation

echo
echo "SMOKE OK"
