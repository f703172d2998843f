#!/usr/bin/env bash
# End-to-end check of pulumi-resource-command with the real engine and the
# Node.js language host: a throwaway TypeScript program using @pulumi/command
# (local.Command, remote.Command against a temporary sshd on 127.0.0.1, and
# local.runOutput) goes through up, an idempotent second up, an update (new
# stdin), a replacement (new trigger), a failing command, and destroy.
#
# Needs: /usr/sbin/sshd (apt-get install openssh-server), ssh-keygen, the
# engine, language host and provider in $BIN, and the project's node_modules.
# Everything it creates lives in a temp dir that is removed at the end; the
# sshd it starts is stopped by its own pid. Keys never appear on a command
# line: the program reads them from files whose paths are in config.
set -euo pipefail

BIN=${BIN:-/tmp/tc/bin}
NODE_MODULES=${NODE_MODULES:-$(cd "$(dirname "$0")/../../.." && pwd)/node_modules}
PORT=${PORT:-2222}
T=$(mktemp -d /tmp/provider-command-e2e.XXXXXX)
SSHD_PID=
cleanup() {
    [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# --- a private sshd ----------------------------------------------------------
mkdir -p "$T/sshd" "$T/work" "$T/home" "$T/state" "$T/prog" /run/sshd
chmod 700 "$T/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_ed25519" -C e2e-host
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/client_ed25519" -C e2e-client
cp "$T/sshd/client_ed25519.pub" "$T/sshd/authorized_keys"
cat > "$T/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $T/sshd/host_ed25519
PidFile $T/sshd/sshd.pid
AuthorizedKeysFile $T/sshd/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel INFO
EOF
/usr/sbin/sshd -D -e -f "$T/sshd/sshd_config" 2> "$T/sshd/sshd.log" &
SSHD_PID=$!
for _ in $(seq 50); do [ -s "$T/sshd/sshd.pid" ] && break; sleep 0.1; done
kill -0 "$SSHD_PID" || fail "sshd did not start: $(cat "$T/sshd/sshd.log")"

# --- the program -------------------------------------------------------------
cd "$T/prog"
ln -s "$NODE_MODULES" node_modules
cat > Pulumi.yaml <<'EOF'
name: command-e2e
runtime: nodejs
EOF
echo '{ "name": "command-e2e", "main": "index.ts" }' > package.json
cat > tsconfig.json <<'EOF'
{ "compilerOptions": { "strict": true, "target": "es2020", "module": "commonjs",
  "moduleResolution": "node", "skipLibCheck": true }, "files": ["index.ts"] }
EOF
cat > index.ts <<'EOF'
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { local, remote } from "@pulumi/command";

const cfg = new pulumi.Config();
const dir = cfg.require("dir");
const privateKey = pulumi.secret(fs.readFileSync(cfg.require("keyFile"), "utf8"));
const hostKey = fs.readFileSync(cfg.require("hostKeyFile"), "utf8").trim();
const connection = { host: "127.0.0.1", port: cfg.requireNumber("port"), user: "root", privateKey, hostKey };

const l = new local.Command("local", {
    create: `echo local-create >> ${dir}/local.log; echo hello-local`,
    delete: `echo "local-delete prev=$PULUMI_COMMAND_STDOUT" >> ${dir}/local.log`,
    triggers: [cfg.get("trigger") ?? "t1"],
});
const r = new remote.Command("remote", {
    connection,
    create: `cat > ${dir}/remote-stdin.txt; echo "create stdin=$(cat ${dir}/remote-stdin.txt) env=$MYVAR" >> ${dir}/remote.log; echo remote-out`,
    delete: `echo "delete prev=$PULUMI_COMMAND_STDOUT" >> ${dir}/remote.log`,
    stdin: cfg.get("stdinValue") ?? "v1",
    environment: { MYVAR: "env-value" },
});
if (cfg.getBoolean("fail")) {
    new remote.Command("failing", {
        connection,
        create: "cat >/dev/null; echo about-to-fail; echo boom >&2; exit 7",
        stdin: pulumi.secret("hush-secret-stdin"),
    });
}
export const localOut = l.stdout;
export const remoteOut = r.stdout;
export const runOut = local.runOutput({ command: "echo invoked" }).stdout;
EOF

export PULUMI_HOME="$T/home" PULUMI_BACKEND_URL="file://$T/state" PULUMI_CONFIG_PASSPHRASE=e2e-throwaway
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PATH="$BIN:$NODE_MODULES/.bin:$PATH"
unset SSH_AUTH_SOCK

pulumi plugin install resource command 1.2.1 -f "$BIN/pulumi-resource-command" >/dev/null
pulumi stack init e2e >/dev/null
pulumi config set dir "$T/work"
pulumi config set port "$PORT"
pulumi config set keyFile "$T/sshd/client_ed25519"
pulumi config set hostKeyFile "$T/sshd/host_ed25519.pub"
up() { pulumi up --yes --non-interactive --skip-preview "$@" > "$T/last.log" 2>&1; }

up || { cat "$T/last.log"; fail "first up"; }
grep -q "hello-local" "$T/last.log" || fail "local output not streamed"
grep -q "remote-out" "$T/last.log" || fail "remote output not streamed"
[ "$(cat "$T/work/remote.log")" = "create stdin=v1 env=env-value" ] || fail "remote create: $(cat "$T/work/remote.log")"
pass "up ran local and remote create (stdin and environment delivered)"

up || { cat "$T/last.log"; fail "second up"; }
grep -q "3 unchanged" "$T/last.log" || { cat "$T/last.log"; fail "second up changed something"; }
[ "$(wc -l < "$T/work/remote.log")" = 1 ] && [ "$(wc -l < "$T/work/local.log")" = 1 ] || fail "second up ran a command"
pass "second up: no changes, no command run"

pulumi config set stdinValue v2
up || { cat "$T/last.log"; fail "update up"; }
grep -q "1 updated" "$T/last.log" || fail "stdin change was not an update"
tail -1 "$T/work/remote.log" | grep -q "create stdin=v2" || fail "update did not rerun create with the new stdin"
pass "stdin change: update reran create"

pulumi config set trigger t2
up || { cat "$T/last.log"; fail "replace up"; }
grep -q "replaced" "$T/last.log" || fail "trigger change did not replace"
grep -q "local-delete prev=hello-local" "$T/work/local.log" || fail "replacement did not delete the old command"
pass "trigger change: replace (create new, delete old with PULUMI_COMMAND_STDOUT)"

pulumi config set fail true
if up; then fail "failing command succeeded"; fi
grep -q "Process exited with status 7" "$T/last.log" && grep -q "boom" "$T/last.log" || { cat "$T/last.log"; fail "error text"; }
grep -q "hush-secret-stdin" "$T/last.log" && fail "secret stdin shown"
pulumi config rm fail
pass "failing command: error shows status and output, not stdin"

pulumi stack export > "$T/export.json"
for n in 3 4 5; do
    if grep -qF -- "$(sed -n ${n}p "$T/sshd/client_ed25519")" "$T/export.json"; then fail "private key in plaintext in the state"; fi
done
grep -q "OPENSSH PRIVATE KEY" "$T/export.json" && fail "private key in plaintext in the state"
pass "private key encrypted in stack export"

pulumi destroy --yes --non-interactive --skip-preview > "$T/last.log" 2>&1 || { cat "$T/last.log"; fail "destroy"; }
tail -1 "$T/work/remote.log" | grep -q "delete prev=remote-out" || fail "destroy did not run the remote delete"
pass "destroy ran delete with the previous stdout"
echo "e2e: 7 passed, 0 failed"
