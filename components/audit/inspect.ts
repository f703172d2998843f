/**
 * The audit's look at a host: over SSH (the `ssh2` library, host key pinned) the inspect script
 * (render/sh/inspect.sh) for the managed files and dockerd, and over TLS from this machine what the
 * daemon's port serves. Then the script's output parsed into an observation.
 *
 * These functions run in the dynamic-provider process, captured by value in the provider's
 * serialized closure (see ./provider.ts): modules are required inside them (Node's own, and `ssh2`
 * from the project's node_modules), and nothing secret is captured (the SSH key arrives with each
 * call's inputs).
 */
import type * as tlsModule from "tls";
import type * as ssh2Module from "ssh2";
import { remoteCommand, renderAuditScript } from "../../render/scripts";
import { ABSENT, AuditConnection, AuditFile, AuditState, AuditTls, HostAuditInputs, Observed, desiredOf } from "./compare";
import { DaemonSecurityFacts, TlsFacts, TlsVersionResult, parseSecurity } from "./facts";

/**
 * dockerd's effective listeners and TLS settings: its flags, then its daemon.json for what the
 * flags do not set (dockerd refuses a setting given both ways).
 */
export function effectiveTls(argv: string[], configText: string | undefined): AuditTls {
  const flags: { hosts: string[]; tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string } = {
    hosts: [],
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    let name = a;
    let value: string | undefined;
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
  let file: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(configText || "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) file = parsed as Record<string, unknown>;
  } catch {
    // a daemon.json that does not parse sets nothing (the file's hash reports it)
  }
  const pick = (k: "tlsverify" | "tlscacert" | "tlscert" | "tlskey") => (flags[k] !== undefined ? flags[k] : file[k]);
  const hosts = flags.hosts.length ? flags.hosts : Array.isArray(file.hosts) ? file.hosts.map(String) : [];
  return {
    tlsverify: pick("tlsverify") === true,
    tlscacert: String(pick("tlscacert") || ""),
    tlscert: String(pick("tlscert") || ""),
    tlskey: String(pick("tlskey") || ""),
    listeners: hosts.slice().sort(),
  };
}

/**
 * dockerd's effective security settings (components/audit/facts.ts DaemonSecurityFacts): each from
 * its flag (`--icc=false`, `--userns-remap default`), else daemon.json (keys in any case, as dockerd
 * reads them), else dockerd's default (icc and userland-proxy on, the others off).
 */
export function effectiveSecurity(argv: string[], configText: string | undefined): DaemonSecurityFacts {
  const flags: Record<string, string> = {};
  const valued = ["--userns-remap", "--seccomp-profile"];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags[name] = a.slice(eq + 1);
    else if (valued.includes(a)) flags[name] = argv[++i] ?? "";
    else flags[name] = "true";
  }
  const file: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(configText || "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) file[k.trim().toLowerCase()] = v;
    }
  } catch {
    // a daemon.json that does not parse sets nothing (dockerd would not start on it)
  }
  const bool = (key: string, dflt: boolean): boolean => {
    if (flags[key] !== undefined) return flags[key] === "true" || flags[key] === "1";
    return typeof file[key] === "boolean" ? (file[key] as boolean) : dflt;
  };
  const text = (key: string): string =>
    flags[key] !== undefined ? flags[key] : typeof file[key] === "string" ? (file[key] as string) : "";
  return {
    icc: bool("icc", true),
    noNewPrivileges: bool("no-new-privileges", false),
    userlandProxy: bool("userland-proxy", true),
    usernsRemap: text("userns-remap"),
    liveRestore: bool("live-restore", false),
    seccompProfile: text("seccomp-profile"),
  };
}

/** What the inspect script reports: the host's part of an observation. */
export type Inspected = AuditTls &
  Pick<AuditState, "files" | "running" | "listening" | "owner"> & { clock?: number; daemon?: DaemonSecurityFacts };

/** Parses the inspect script's output into the host's part of `observed`. */
export function parseInspect(stdout: string, paths: string[]): Inspected {
  const files: Record<string, AuditFile> = {};
  for (const p of paths) files[p] = ABSENT;
  let running = false;
  let listening = false;
  let owner = "";
  let clock: number | undefined;
  let argv: string[] = [];
  let config: string | undefined;
  for (const line of stdout.split("\n")) {
    const [tag, ...rest] = line.split(" ");
    if (tag === "file" && rest.length >= 4) {
      const [sha256, mode, owner] = rest;
      files[rest.slice(3).join(" ")] = sha256 === "-" ? ABSENT : { sha256, mode, owner };
    } else if (tag === "running") {
      running = rest[0] === "yes";
    } else if (tag === "clock" && /^\d+$/.test(rest[0] || "")) {
      clock = Number(rest[0]);
    } else if (tag === "owner") {
      owner = rest.join(" ").trim();
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
  const none: AuditTls = { tlsverify: false, tlscacert: "", tlscert: "", tlskey: "", listeners: [] };
  return {
    files,
    running,
    listening,
    owner,
    ...(clock !== undefined ? { clock } : {}),
    ...(running ? { ...effectiveTls(argv, config), daemon: effectiveSecurity(argv, config) } : none),
  };
}

/** What a TLS client without a certificate sees on a port. */
export interface TlsProbe {
  /** SHA-256 fingerprint of the server's certificate (`AB:CD:…`), "" when no TLS answers. */
  serverCertSha256: string;
  /** The server certificate's notAfter, ISO 8601 in UTC to the second (`2027-01-01T00:00:00Z`); "" when no TLS answers. */
  serverCertNotAfter: string;
  /** The server refused us for want of a client certificate. */
  requireClientCert: boolean;
  /** What happened, for people. */
  endpoint: string;
  /** The served certificate's key and expiry, and the version negotiated (the security audit's facts). */
  served?: Omit<TlsFacts, "versions">;
}

/**
 * What port PORT of ADDRESS serves, seen from this machine by a TLS client without a certificate:
 * the SHA-256 fingerprint and the notAfter of the server's certificate ("" when no TLS answers), and
 * whether the server then refuses us for want of a client certificate.
 */
export function probeTls(address: string, port: number, timeoutMs: number): Promise<TlsProbe> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- required where it runs (see the module's comment)
  const tls = require("tls") as typeof tlsModule;
  return new Promise((resolve) => {
    let fingerprint = "";
    let notAfter = "";
    let served: Omit<TlsFacts, "versions"> | undefined;
    let answer = "";
    let settled = false;
    // Declared before the callbacks that read it: Pulumi's closure serializer refuses a `const`
    // declared after them ("Unexpected missing variable in closure environment").
    // eslint-disable-next-line prefer-const
    let timer: ReturnType<typeof setTimeout> | undefined;
    const socket = tls.connect({ host: address, port, rejectUnauthorized: false });
    const done = (requireClientCert: boolean, endpoint: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ serverCertSha256: fingerprint, serverCertNotAfter: notAfter, requireClientCert, endpoint, ...(served ? { served } : {}) });
    };
    const peer = () => {
      try {
        const c = socket.getPeerCertificate();
        if (c && c.fingerprint256) {
          fingerprint = c.fingerprint256;
          const key = c as unknown as { bits?: number; asn1Curve?: string; nistCurve?: string; modulus?: string; valid_to?: string };
          // valid_to as OpenSSL prints it (`Jan  1 00:00:00 2027 GMT`), which Date reads; to the second, as the stack's notAfter.
          const end = key.valid_to ? new Date(key.valid_to) : undefined;
          if (end && !isNaN(end.getTime())) notAfter = end.toISOString().replace(/\.\d{3}Z$/, "Z");
          served = {
            ...(socket.getProtocol() ? { protocol: String(socket.getProtocol()) } : {}),
            ...(key.asn1Curve || key.nistCurve
              ? { keyType: "EC", curve: String(key.nistCurve || key.asn1Curve) }
              : key.modulus
                ? { keyType: "RSA" }
                : {}),
            ...(typeof key.bits === "number" ? { keyBits: key.bits } : {}),
            ...(notAfter ? { notAfter } : {}),
          };
        }
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
    socket.on("error", (e: NodeJS.ErrnoException) => {
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
 * Whether port PORT of ADDRESS completes a TLS handshake offering `version` alone (`TLSv1`,
 * `TLSv1.1`): `accepted`, `refused` (the server said no: a protocol-version alert, or it closed),
 * or `unknown` when this machine's TLS library cannot offer that version at all, or nothing answers.
 * No certificate is sent: the handshake itself is what is judged. Old versions need OpenSSL's
 * security level 0 on this side to be offered at all.
 */
export function probeTlsVersion(address: string, port: number, version: "TLSv1" | "TLSv1.1", timeoutMs: number): Promise<TlsVersionResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- required where it runs (see the module's comment)
  const tls = require("tls") as typeof tlsModule;
  return new Promise((resolve) => {
    let settled = false;
    // eslint-disable-next-line prefer-const -- declared before the callbacks that read it (see probeTls)
    let timer: ReturnType<typeof setTimeout> | undefined;
    let socket: ReturnType<typeof tls.connect> | undefined;
    const done = (r: TlsVersionResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (socket) socket.destroy();
      resolve(r);
    };
    try {
      socket = tls.connect({
        host: address,
        port,
        rejectUnauthorized: false,
        minVersion: version,
        maxVersion: version,
        ciphers: "DEFAULT:@SECLEVEL=0",
      });
    } catch {
      return done("unknown");
    }
    timer = setTimeout(() => done("unknown"), timeoutMs);
    socket.once("secureConnect", () => done("accepted"));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      const what = `${e.code || ""} ${e.message}`;
      if (/NO_PROTOCOLS_AVAILABLE|NO_CIPHERS|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT/i.test(what)) done("unknown");
      else if (/PROTOCOL_VERSION|WRONG_VERSION_NUMBER|UNSUPPORTED_PROTOCOL|HANDSHAKE_FAILURE|ECONNRESET|EPIPE/i.test(what)) done("refused");
      else done("unknown");
    });
    socket.on("close", () => done("refused"));
  });
}

/**
 * The host key algorithms ssh2 may negotiate for a pinned key of type `keyType` (the plan's
 * hostKeyAlgorithm): only the pinned key's own, so that a server with several host keys shows
 * that one (hostVerifier then compares its bytes) instead of the one ssh2 would prefer and a
 * spurious mismatch. Undefined when nothing is pinned (ssh2's defaults). ed25519 and ECDSA
 * algorithms are named like their key types; an RSA key (which config.ts refuses to pin) also
 * signs with SHA-2 (RFC 8332), which is what OpenSSH 8.8 and later still accept. Other types go as
 * they are: ssh2 refuses to connect with "Unsupported algorithm: TYPE", which says more than a
 * mismatch would.
 */
export function hostKeyAlgorithms(keyType: string | undefined): string[] | undefined {
  if (!keyType) return undefined;
  if (keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [keyType];
}

/** What a command run over SSH did. */
export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
  /** When the command ended, in ms since the epoch (this machine's clock). */
  finishedAt: number;
}

/** Runs COMMAND over SSH (stdin from INPUT); resolves with its exit code and output. */
export function sshExec(connection: AuditConnection, command: string, input: string | undefined, timeoutMs: number): Promise<SshResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- required where it runs (see the module's comment)
  const { Client } = require("ssh2") as typeof ssh2Module;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let hostKeyMismatch = false;
    const fail = (e: Error) => {
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
        stream.on("data", (d: Buffer) => (stdout += d));
        stream.stderr.on("data", (d: Buffer) => (stderr += d));
        stream.on("close", (code: unknown) => {
          if (settled) return;
          settled = true;
          client.end();
          resolve({ code: typeof code === "number" ? code : 1, stdout, stderr, finishedAt: Date.now() });
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
      algorithms: pinned
        ? { serverHostKey: hostKeyAlgorithms(connection.hostKeyAlgorithm) as ssh2Module.ServerHostKeyAlgorithm[] }
        : undefined,
      hostVerifier: pinned
        ? (key: Buffer) => {
            hostKeyMismatch = !Buffer.from(key).equals(pinned);
            return !hostKeyMismatch;
          }
        : undefined,
    });
  });
}

/** What inspectHost needs of the resource's inputs, beside the wanted state (its port and files). */
export type InspectProps = Pick<HostAuditInputs, "init" | "connection" | "timeoutSeconds">;

/** Inspects a host over SSH and its TLS port from here; never throws (an unreachable host is `reachable: false`). */
export async function inspectHost(props: InspectProps): Promise<Observed> {
  const c = props.connection;
  const e = desiredOf(props);
  const timeoutMs = props.timeoutSeconds * 1000;
  const paths = Object.keys(e.files).sort();
  const tlsPaths = { clientCaBundle: e.tlscacert, serverCert: e.tlscert, serverKey: e.tlskey };
  const script = renderAuditScript({ init: props.init, port: e.port, files: e.files }, { tlsPaths });
  const command = remoteCommand(script, c.sudo);
  const [ssh, probed, tls10, tls11] = await Promise.all([
    sshExec(c, command, "", timeoutMs).then(
      (r): SshResult & { error?: undefined } => r,
      (err) => ({ error: `cannot reach ${c.user}@${c.host}:${c.port} over SSH: ${err.message || err}` }),
    ),
    probeTls(c.host, e.port, timeoutMs),
    probeTlsVersion(c.host, e.port, "TLSv1", timeoutMs),
    probeTlsVersion(c.host, e.port, "TLSv1.1", timeoutMs),
  ]);
  const { served: peer, ...served } = probed;
  if (ssh.error !== undefined) return { reachable: false, error: ssh.error, port: e.port, ...served };
  if (ssh.code !== 0) {
    const why = (ssh.stderr || ssh.stdout).trim().split("\n").slice(-3).join(" / ");
    return { reachable: false, error: `inspection on ${c.host} failed (exit ${ssh.code}): ${why}`, port: e.port, ...served };
  }
  const { clock, daemon, ...inspected } = parseInspect(ssh.stdout, paths);
  const offset = clock === undefined ? {} : { clockOffsetSeconds: clock - Math.round(ssh.finishedAt / 1000) };
  const facts = parseSecurity(ssh.stdout);
  const tls: TlsFacts = { ...(peer || {}), versions: { TLSv1: tls10, "TLSv1.1": tls11 } };
  const security = { ...facts, ...(daemon ? { daemon } : {}), tls, inspectedAt: new Date(ssh.finishedAt).toISOString() };
  return { reachable: true, port: e.port, ...inspected, ...offset, ...served, security, dockerGroup: facts.group.local.slice().sort() };
}
