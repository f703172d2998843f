#!/usr/bin/env bash
# End-to-end check of pulumi-resource-tls with the real engine and Node language host: up, the
# certificates verify with openssl, a second up and a refresh change nothing, earlyRenewalHours
# updates in place, a SAN change replaces, a certificate due for renewal is replaced, no private
# key is in clear in the exported state, destroy. Everything lives in a temp dir.
#
#   toolchain/provider-tls/smoke/run.sh [BIN_DIR]   (default /tmp/tc/bin; needs pulumi,
#   pulumi-language-nodejs and pulumi-resource-tls there)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
bin=${1:-/tmp/tc/bin}
version=$(sed -n 's/^ *"@pulumi\/tls": *"\([0-9.]*\)".*/\1/p' "$repo/package.json")

work=$(mktemp -d /tmp/tls-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
prog=$work/prog
mkdir -p "$prog" "$work/home" "$work/state" "$work/pem"
ln -s "$repo/node_modules" "$prog/node_modules"
cp "$here/index.ts" "$prog/"
printf 'name: tls-smoke\nruntime: nodejs\n' >"$prog/Pulumi.yaml"
printf '{ "name": "tls-smoke", "private": true, "main": "index.ts" }\n' >"$prog/package.json"
cat >"$prog/tsconfig.json" <<'JSON'
{ "compilerOptions": { "strict": true, "target": "ES2022", "module": "commonjs",
  "moduleResolution": "node", "skipLibCheck": true }, "files": ["index.ts"] }
JSON

export PATH="$bin:$repo/node_modules/.bin:$PATH"
export PULUMI_HOME=$work/home PULUMI_BACKEND_URL=file://$work/state PULUMI_CONFIG_PASSPHRASE=smoke-passphrase
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# Use the installed plugin, not the copy that BIN_DIR puts on PATH.
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
cd "$prog"

fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== $*"; }
expect() { grep -q -- "$1" "$2" || { cat "$2"; fail "expected '$1' in output of $3"; }; }
up() { # LOG: pulumi up, output kept in $work/LOG.txt
	pulumi up --yes --non-interactive --diff >"$work/$1.txt" 2>&1 || { cat "$work/$1.txt"; fail "up ($1)"; }
}

step "install plugin tls $version"
pulumi plugin install resource tls "$version" -f "$bin/pulumi-resource-tls"
pulumi stack init smoke --non-interactive

step "up"
up up1
expect "+ 9 created" "$work/up1.txt" up

step "certificates verify"
for o in caCert serverCert clientCert; do pulumi stack output "$o" >"$work/pem/$o.pem"; done
openssl verify -CAfile "$work/pem/caCert.pem" -purpose sslserver "$work/pem/serverCert.pem"
openssl verify -CAfile "$work/pem/caCert.pem" -purpose sslclient "$work/pem/clientCert.pem"
if openssl verify -CAfile "$work/pem/caCert.pem" -purpose sslclient "$work/pem/serverCert.pem" 2>/dev/null; then
	fail "server certificate accepted for client auth"
fi
openssl x509 -in "$work/pem/serverCert.pem" -noout -ext subjectAltName | tee "$work/san.txt"
expect "DNS:docker.example.com, DNS:localhost, IP Address:127.0.0.1" "$work/san.txt" "server SANs"
pulumi stack output serverKeyPem | grep -qx '\[secret\]' || fail "serverKeyPem output not secret"
[ "$(pulumi stack output serverFingerprint)" = "$(pulumi stack output --show-secrets invokedFingerprint)" ] ||
	fail "getPublicKey fingerprint differs from PrivateKey's"

step "second up changes nothing"
pulumi up --yes --non-interactive --expect-no-changes >"$work/up2.txt" 2>&1 || { cat "$work/up2.txt"; fail "second up"; }
expect "9 unchanged" "$work/up2.txt" "second up"

step "refresh changes nothing"
pulumi refresh --yes --non-interactive --expect-no-changes >"$work/refresh.txt" 2>&1 || { cat "$work/refresh.txt"; fail "refresh"; }
expect "9 unchanged" "$work/refresh.txt" refresh

step "earlyRenewalHours updates in place"
pulumi config set early 100
up up3
expect "~ 1 updated" "$work/up3.txt" "early renewal change"

step "a SAN change replaces the request and the certificate"
pulumi config set extraDns docker2.example.com
up up4
expect "+-2 replaced" "$work/up4.txt" "SAN change"

step "a certificate due for renewal is replaced on every up"
pulumi config set dueCert true
up up5
up up6
expect "readyForRenewal" "$work/up6.txt" "renewal"
expect "+-1 replaced" "$work/up6.txt" "renewal"

step "no private key in clear in the state"
pulumi stack export >"$work/export.json"
if grep -q "PRIVATE KEY" "$work/export.json" || grep -rq "PRIVATE KEY" "$work/state"; then
	fail "private key material in clear in the state"
fi
echo "state holds $(grep -o '"ciphertext"' "$work/export.json" | wc -l) encrypted values, no clear private keys"

step "destroy"
pulumi destroy --yes --non-interactive >"$work/destroy.txt" 2>&1 || { cat "$work/destroy.txt"; fail "destroy"; }
expect "10 deleted" "$work/destroy.txt" destroy

echo
echo "SMOKE OK"
