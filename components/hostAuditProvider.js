/**
 * The dynamic provider behind HostAudit (see hostAudit.ts), and the pure functions that compare
 * what a host has with what the stack wants.
 *
 * Plain JavaScript on purpose: Pulumi stores `provider` in the state by closure serialization and
 * runs it later in the dynamic-provider process, which has no ts-node. So everything the provider
 * calls lives in this file and is captured by value; modules are required inside the functions
 * (Node's own, and `ssh2` from the project's node_modules). Nothing secret is captured: the SSH key
 * arrives with each call's inputs.
 *
 * An audit state (what the stack wants, or what a host has):
 *   { reachable, running, listening, port, tlsverify, tlscacert, tlscert, tlskey, listeners,
 *     serverCertSha256, requireClientCert, files: { PATH: { sha256, mode, owner } } }
 * The resource's inputs hold the wanted state flat (each file under its path, as a top-level key),
 * so that Pulumi's summary of a diff names the file or setting: `[diff: ~/etc/docker/daemon.json]`.
 * Its output `observed` holds what the host has, plus `error` (why it could not be inspected) and
 * `endpoint` (what the TLS port answered to a client without a certificate).
 */
"use strict";

/** What the engine sends for a value that is not known yet (preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** An absent file, in the shape of a present one. */
const ABSENT = { sha256: "-", mode: "-", owner: "-" };

/** The settings of an audit state, in the order they are checked. Files are the keys that start with "/". */
const SETTINGS = [
  "reachable",
  "running",
  "listening",
  "port",
  "tlsverify",
  "tlscacert",
  "tlscert",
  "tlskey",
  "listeners",
  "serverCertSha256",
  "requireClientCert",
];

/** The wanted state held in a resource's (flat) inputs. */
function desiredOf(props) {
  const state = { files: {} };
  for (const k of SETTINGS) state[k] = props[k];
  for (const k of Object.keys(props)) if (k.startsWith("/")) state.files[k] = props[k];
  return state;
}

/** An audit state as flat inputs: the settings, and each file under its path. */
function flatten(state) {
  const out = {};
  for (const k of SETTINGS) out[k] = state[k];
  for (const p of Object.keys(state.files)) out[p] = state.files[p];
  return out;
}

function containsUnknown(v) {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.keys(v).some((k) => containsUnknown(v[k]));
  return false;
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

function sameJson(a, b) {
  const norm = (v) => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") {
      const out = {};
      for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = norm(v[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/**
 * The script that reads a host's side of the audit (run as root, through `sudo -n` for other
 * users). POSIX sh and coreutils only. One line per fact:
 *   file SHA256 MODE OWNER PATH   (`-` for each of the three when absent)
 *   running yes|no, cmdline BASE64 (dockerd's argv, NUL-separated), config BASE64|- (its daemon.json)
 *   listening yes|no              (a socket listens on the TLS port, from the kernel's tables)
 */
function renderInspectScript(t) {
  const files = Object.keys(t.files).sort().map(shellQuote).join(" ");
  // Where dockerd's process is: systemd knows it; otherwise the pid file dockerd writes.
  const findPid =
    t.init === "systemd"
      ? `if command -v systemctl >/dev/null 2>&1; then
  case "$(systemctl show -p ActiveState --value docker.service 2>/dev/null)" in
    active|reloading) pid=$(systemctl show -p MainPID --value docker.service 2>/dev/null || true) ;;
  esac
fi`
      : `pid=$(cat /var/run/docker.pid 2>/dev/null || true)`;
  return `set -u
PORT=${Number(t.port)}
for f in ${files}; do
  if [ -f "$f" ]; then
    printf 'file %s %s %s %s\\n' "$(sha256sum < "$f" | cut -d ' ' -f 1)" "$(stat -c %a "$f")" "$(stat -c %U:%G "$f")" "$f"
  else
    printf 'file - - - %s\\n' "$f"
  fi
done
pid=""
${findPid}
pid=\${pid%% *}
if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -r "/proc/$pid/status" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" \\
  && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
  echo "running yes"
  printf 'cmdline '; base64 < "/proc/$pid/cmdline" | tr -d '\\n'; echo
  cfg=$(tr '\\0' '\\n' < "/proc/$pid/cmdline" | awk 'f { print; exit } /^--config-file=/ { sub(/^--config-file=/, ""); print; exit } /^--config-file$/ { f = 1 }')
  cfg=\${cfg:-/etc/docker/daemon.json}
  if [ -f "$cfg" ]; then printf 'config '; base64 < "$cfg" | tr -d '\\n'; echo; else echo "config -"; fi
else
  echo "running no"
fi
hex=$(printf ':%04X' "$PORT")
if cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'; then
  echo "listening yes"
else
  echo "listening no"
fi
`;
}

/**
 * dockerd's effective listeners and TLS settings: its flags, then its daemon.json for what the
 * flags do not set (dockerd refuses a setting given both ways).
 */
function effectiveTls(argv, configText) {
  const flags = { hosts: [] };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    let name = a;
    let value;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      name = a.slice(0, eq);
      value = a.slice(eq + 1);
    } else if (/^-H./.test(a)) {
      name = "-H";
      value = a.slice(2).replace(/^=/, "");
    }
    const arg = () => (value !== undefined ? value : argv[++i]);
    const bool = () => value === undefined || value === "true" || value === "1";
    if (name === "-H" || name === "--host") flags.hosts.push(arg());
    else if (name === "--tls") flags.tls = bool();
    else if (name === "--tlsverify") flags.tlsverify = bool();
    else if (name === "--tlscacert") flags.tlscacert = arg();
    else if (name === "--tlscert") flags.tlscert = arg();
    else if (name === "--tlskey") flags.tlskey = arg();
  }
  let file = {};
  try {
    const parsed = JSON.parse(configText || "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) file = parsed;
  } catch {
    // a daemon.json that does not parse sets nothing (the file's hash reports it)
  }
  const pick = (k) => (flags[k] !== undefined ? flags[k] : file[k]);
  const hosts = flags.hosts.length ? flags.hosts : Array.isArray(file.hosts) ? file.hosts.map(String) : [];
  return {
    tlsverify: pick("tlsverify") === true,
    tlscacert: String(pick("tlscacert") || ""),
    tlscert: String(pick("tlscert") || ""),
    tlskey: String(pick("tlskey") || ""),
    listeners: hosts.slice().sort(),
  };
}

/** Parses the inspect script's output into the host's part of `observed`. */
function parseInspect(stdout, paths) {
  const files = {};
  for (const p of paths) files[p] = ABSENT;
  let running = false;
  let listening = false;
  let argv = [];
  let config;
  for (const line of stdout.split("\n")) {
    const [tag, ...rest] = line.split(" ");
    if (tag === "file" && rest.length >= 4) {
      const [sha256, mode, owner] = rest;
      files[rest.slice(3).join(" ")] = sha256 === "-" ? ABSENT : { sha256, mode, owner };
    } else if (tag === "running") {
      running = rest[0] === "yes";
    } else if (tag === "listening") {
      listening = rest[0] === "yes";
    } else if (tag === "cmdline") {
      argv = Buffer.from(rest.join(""), "base64")
        .toString("utf8")
        .split("\0")
        .filter((s) => s !== "");
    } else if (tag === "config" && rest[0] !== "-") {
      config = Buffer.from(rest.join(""), "base64").toString("utf8");
    }
  }
  const none = { tlsverify: false, tlscacert: "", tlscert: "", tlskey: "", listeners: [] };
  return { files, running, listening, ...(running ? effectiveTls(argv, config) : none) };
}

/**
 * What port PORT of ADDRESS serves, seen from this machine by a TLS client without a certificate:
 * the SHA-256 fingerprint of the server's certificate (`AB:CD:…`, "" when no TLS answers), and
 * whether the server then refuses us for want of a client certificate.
 */
function probeTls(address, port, timeoutMs) {
  const tls = require("tls");
  return new Promise((resolve) => {
    let fingerprint = "";
    let answer = "";
    let settled = false;
    let timer;
    const socket = tls.connect({ host: address, port, rejectUnauthorized: false });
    const done = (requireClientCert, endpoint) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ serverCertSha256: fingerprint, requireClientCert, endpoint });
    };
    const peer = () => {
      try {
        const c = socket.getPeerCertificate();
        if (c && c.fingerprint256) fingerprint = c.fingerprint256;
      } catch {
        // no certificate yet
      }
    };
    timer = setTimeout(() => {
      peer();
      done(false, `port ${port}: no answer within ${Math.round(timeoutMs / 1000)} s`);
    }, timeoutMs);
    socket.once("secureConnect", () => {
      peer();
      // TLS 1.3: the server checks our (missing) certificate after the handshake; ask for something.
      socket.write("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n");
    });
    socket.on("data", (d) => {
      answer += d;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
      if (m) done(false, `TLS without a client certificate: HTTP ${m[1]}`);
    });
    socket.on("error", (e) => {
      peer();
      const what = `${e.code || ""} ${e.message}`.trim();
      const refusedUs = /certificate|handshake failure|ECONNRESET|EPIPE/i.test(what) && fingerprint !== "";
      done(refusedUs, refusedUs ? "TLS; refused without a client certificate" : `port ${port}: ${what}`);
    });
    socket.on("close", () => {
      peer();
      done(fingerprint !== "", fingerprint ? "TLS; closed without a client certificate" : `port ${port}: closed`);
    });
  });
}

/**
 * The host key algorithms ssh2 may negotiate for a pinned key (`TYPE BASE64 [comment]`): only the
 * pinned key's own, so that a server with several host keys shows that one (hostVerifier then
 * compares its bytes) instead of the one ssh2 would prefer and a spurious mismatch. Undefined
 * when nothing is pinned (ssh2's defaults). ed25519 and ECDSA algorithms are named like their
 * key types; an RSA key (which config.ts refuses to pin) also signs with SHA-2 (RFC 8332), which
 * is what OpenSSH 8.8 and later still accept. Other types go as they are: ssh2 refuses to connect
 * with "Unsupported algorithm: TYPE", which says more than a mismatch would.
 */
function hostKeyAlgorithms(hostKey) {
  const type = String(hostKey || "")
    .trim()
    .split(/\s+/)[0];
  if (!type) return undefined;
  if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [type];
}

/** Runs COMMAND over SSH (stdin from INPUT); resolves with its exit code and output. */
function sshExec(connection, command, input, timeoutMs) {
  const { Client } = require("ssh2");
  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let hostKeyMismatch = false;
    const fail = (e) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(hostKeyMismatch ? new Error("the host key does not match the pinned one") : e);
    };
    client.on("ready", () => {
      client.exec(command, (err, stream) => {
        if (err) return fail(err);
        let stdout = "";
        let stderr = "";
        stream.on("data", (d) => (stdout += d));
        stream.stderr.on("data", (d) => (stderr += d));
        stream.on("close", (code) => {
          if (settled) return;
          settled = true;
          client.end();
          resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
        });
        stream.end(input === undefined ? "" : input);
      });
    });
    client.on("error", fail);
    const pinned = connection.hostKey ? Buffer.from(String(connection.hostKey).trim().split(/\s+/)[1] || "", "base64") : undefined;
    client.on("close", () => fail(new Error("connection closed")));
    client.connect({
      host: connection.host,
      port: connection.port,
      username: connection.user,
      privateKey: connection.privateKey,
      readyTimeout: timeoutMs,
      algorithms: pinned ? { serverHostKey: hostKeyAlgorithms(connection.hostKey) } : undefined,
      hostVerifier: pinned
        ? (key) => {
            hostKeyMismatch = !Buffer.from(key).equals(pinned);
            return !hostKeyMismatch;
          }
        : undefined,
    });
  });
}

/** Inspects a host over SSH and its TLS port from here; never throws (an unreachable host is `reachable: false`). */
async function inspectHost(props) {
  const c = props.connection;
  const e = desiredOf(props);
  const timeoutMs = (props.timeoutSeconds || 15) * 1000;
  const paths = Object.keys(e.files).sort();
  const script = renderInspectScript({ init: props.init, port: e.port, files: e.files });
  const command = `${c.sudo ? "sudo -n " : ""}sh -c ${shellQuote(script)}`;
  const [ssh, served] = await Promise.all([
    sshExec(c, command, "", timeoutMs).then(
      (r) => r,
      (err) => ({ error: `cannot reach ${c.user}@${c.host}:${c.port} over SSH: ${err.message || err}` }),
    ),
    probeTls(c.host, e.port, timeoutMs),
  ]);
  if (ssh.error) return { reachable: false, error: ssh.error, port: e.port, ...served };
  if (ssh.code !== 0) {
    const why = (ssh.stderr || ssh.stdout).trim().split("\n").slice(-3).join(" / ");
    return { reachable: false, error: `inspection on ${c.host} failed (exit ${ssh.code}): ${why}`, port: e.port, ...served };
  }
  return { reachable: true, port: e.port, ...parseInspect(ssh.stdout, paths), ...served };
}

/**
 * What of `observed` can be held against `expected`: later checks are left out when an earlier
 * one already explains them (a stopped dockerd has no listener, no TLS settings, serves nothing).
 * Missing parts are taken from `expected`, so that they compare equal.
 */
function comparable(expected, observed) {
  if (!observed || observed.reachable === false) return { ...expected, reachable: false };
  const files = {};
  for (const p of Object.keys(expected.files)) {
    const f = (observed.files || {})[p] || ABSENT;
    files[p] = { sha256: f.sha256, mode: f.mode, owner: f.owner };
  }
  const out = { ...expected, reachable: true, files, running: observed.running };
  if (!observed.running) return out;
  out.listening = observed.listening;
  for (const k of ["tlsverify", "tlscacert", "tlscert", "tlskey"]) out[k] = observed[k];
  out.listeners = (observed.listeners || []).slice().sort();
  if (!observed.listening) return out;
  out.serverCertSha256 = observed.serverCertSha256;
  out.requireClientCert = observed.requireClientCert;
  return out;
}

const short = (s) => (s && s.length > 23 ? `${s.slice(0, 23)}…` : s);

/**
 * The differences between what the stack wants and what the host has, one item per file
 * attribute or setting: `key` names it as in the inputs (`["/etc/docker/server-key.pem"].mode`, `running`),
 * `text` says it for people (`/etc/docker/server-key.pem mode 644 (want 400)`).
 */
function compareAudit(expected, observed) {
  const got = comparable(expected, observed);
  if (got.reachable === false) {
    return [{ key: "reachable", want: true, got: false, text: `unreachable: ${(observed && observed.error) || "not inspected"}` }];
  }
  const items = [];
  const add = (key, want, have, text) => items.push({ key, want, got: have, text });
  for (const p of Object.keys(expected.files).sort()) {
    const w = expected.files[p];
    const g = got.files[p];
    const key = `[${JSON.stringify(p)}]`;
    if (g.sha256 === "-") {
      add(`${key}.sha256`, w.sha256, "-", `${p} missing`);
      continue;
    }
    if (g.sha256 !== w.sha256)
      add(`${key}.sha256`, w.sha256, g.sha256, `${p} content changed (sha256 ${short(g.sha256)}, want ${short(w.sha256)})`);
    if (g.mode !== w.mode) add(`${key}.mode`, w.mode, g.mode, `${p} mode ${g.mode} (want ${w.mode})`);
    if (g.owner !== w.owner) add(`${key}.owner`, w.owner, g.owner, `${p} owner ${g.owner} (want ${w.owner})`);
  }
  const port = expected.port;
  if (got.running !== expected.running)
    add("running", expected.running, got.running, expected.running ? "dockerd not running" : "dockerd running");
  if (got.listening !== expected.listening) add("listening", expected.listening, got.listening, `dockerd not listening on port ${port}`);
  if (got.tlsverify !== expected.tlsverify)
    add("tlsverify", expected.tlsverify, got.tlsverify, `dockerd tlsverify ${got.tlsverify} (want ${expected.tlsverify})`);
  for (const k of ["tlscacert", "tlscert", "tlskey"]) {
    if (got[k] !== expected[k]) add(k, expected[k], got[k], `dockerd ${k} ${got[k] || "unset"} (want ${expected[k]})`);
  }
  if (!sameJson(got.listeners, expected.listeners)) {
    add(
      "listeners",
      expected.listeners,
      got.listeners,
      `dockerd listens on ${got.listeners.join(",") || "nothing"} (want ${expected.listeners.join(",")})`,
    );
  }
  if (got.serverCertSha256 !== expected.serverCertSha256) {
    const text = got.serverCertSha256
      ? `port ${port} serves certificate ${short(got.serverCertSha256)} (want ${short(expected.serverCertSha256)})`
      : `port ${port} serves no TLS certificate (${(observed && observed.endpoint) || "no answer"})`;
    add("serverCertSha256", expected.serverCertSha256, got.serverCertSha256, text);
  }
  if (got.requireClientCert !== expected.requireClientCert) {
    const text = expected.requireClientCert
      ? `port ${port} does not demand a client certificate`
      : `port ${port} demands a client certificate`;
    add("requireClientCert", expected.requireClientCert, got.requireClientCert, text);
  }
  return items;
}

/** Inspects, heals through the apply script when something differs, and inspects again. */
async function auditAndHeal(inputs) {
  let observed = await inspectHost(inputs);
  if (observed.reachable === false) throw new Error(`host ${inputs.host}: ${observed.error}`);
  const expected = desiredOf(inputs);
  const drift = compareAudit(expected, observed);
  if (drift.length === 0) return observed;
  const timeoutMs = (inputs.timeoutSeconds || 15) * 1000;
  const r = await sshExec(inputs.connection, inputs.heal.command, inputs.heal.manifest, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`host ${inputs.host}: healing (${drift.map((d) => d.text).join("; ")}) failed:\n${(r.stderr || r.stdout).trim()}`);
  }
  // dockerd listens (what the apply script waits for) a moment before it serves: look again for a while.
  let left = [];
  for (let i = 0; i < 10; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 2000));
    observed = await inspectHost(inputs);
    left = compareAudit(expected, observed);
    if (left.length === 0) return observed;
  }
  throw new Error(`host ${inputs.host}: still differs after the apply script ran: ${left.map((d) => d.text).join("; ")}`);
}

/** The inputs a refresh leaves in the state: the observation, in the shape of the wanted state. */
function observedAsInputs(props, observed) {
  const inputs = {};
  for (const k of Object.keys(props)) {
    if (k !== "observed" && k !== "__provider" && !k.startsWith("/") && !SETTINGS.includes(k)) inputs[k] = props[k];
  }
  return { ...inputs, ...flatten(comparable(desiredOf(props), observed)) };
}

/** The top-level input that a drift item's key is under: `["/etc/docker/ca.pem"].mode` is under `/etc/docker/ca.pem`. */
function topKey(key) {
  return key.startsWith("[") ? JSON.parse(key.slice(1, key.indexOf("]"))) : key.split(".")[0];
}

/** The inputs that are not the wanted state. */
const OTHER_INPUTS = ["host", "init", "connection", "heal", "timeoutSeconds"];

const provider = {
  /**
   * Drift on the host (the last observation differs from what was wanted then), or a host that
   * could not be inspected: replace, so that the heal runs as a create (see hostAudit.ts on why).
   * A changed desired state with no drift (the host's apply step changes the host in the same run):
   * update, which inspects again. Unknowns (preview): update.
   */
  diff: async (_id, olds, news) => {
    const drift = compareAudit(desiredOf(olds), olds.observed);
    if (drift.length > 0) return { changes: true, replaces: [...new Set(drift.map((d) => topKey(d.key)))] };
    if (containsUnknown(news)) return { changes: true };
    const files = [...Object.keys(olds), ...Object.keys(news)].filter((k) => k.startsWith("/"));
    return { changes: [...OTHER_INPUTS, ...SETTINGS, ...files].some((k) => !sameJson(olds[k], news[k])) };
  },
  create: async (inputs) => {
    const observed = await auditAndHeal(inputs);
    const id = `${inputs.host}-${require("crypto").randomBytes(4).toString("hex")}`;
    return { id, outs: { ...inputs, observed } };
  },
  read: async (id, props) => {
    const observed = await inspectHost(props);
    return { id, props: { ...props, observed }, inputs: observedAsInputs(props, observed) };
  },
  update: async (_id, _olds, news) => ({ outs: { ...news, observed: await auditAndHeal(news) } }),
  // The host's files belong to DockerHost (its apply step restores them on destroy): nothing to do.
  delete: async () => {},
};

module.exports = {
  UNKNOWN,
  SETTINGS,
  provider,
  desiredOf,
  flatten,
  compareAudit,
  comparable,
  effectiveTls,
  parseInspect,
  renderInspectScript,
  probeTls,
  containsUnknown,
  hostKeyAlgorithms,
};
