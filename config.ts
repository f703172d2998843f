/**
 * The program's configuration: one typed, validated object built from the stack config.
 *
 * Every rule lives in the zod schema below, so a bad value fails before any resource is
 * declared (and so before any host is touched), with one message per problem that names the
 * field and, for hosts, the host: `hosts[2] (web3).address: "10.0.0.999" is not an IP address
 * or DNS name`. The keys are described in Pulumi.yaml.
 */
import { spawnSync } from "child_process";
import { createHmac } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { TYPED_DAEMON_KEYS } from "./render/daemon";

/** Key algorithms the PKI can use, as `pki.algorithm`. */
export const KEY_ALGORITHMS = ["ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** How the daemon is started on a host, and so where its settings go. */
export const INIT_KINDS = ["systemd", "sysv", "custom"] as const;
export type InitKind = (typeof INIT_KINDS)[number];

/**
 * SSH host key types that may be pinned, best first. The command provider offers the server only
 * the pinned key's type (HostKeyAlgorithms = [key.Type()]), and for an RSA key that is `ssh-rsa`
 * (SHA-1 signatures), which OpenSSH 8.8 and later refuse; DSA is older still. These are the types
 * for which "only this one" still connects, and what findHostKey prefers from a known_hosts file.
 */
export const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

/**
 * The client identity of the program's own endpoint checks (components/endpointCheck.ts), beside
 * the users' clients: so that revoking every user never breaks the check. A user client of this
 * name would collide with it (same resource names), so validation refuses it.
 */
export const CHECK_CLIENT = "docker-tls-check";

/**
 * Seconds DockerHost's apply and restore scripts wait for dockerd to answer on its TLS port after a
 * restart before they roll back (the prelude's WAIT, render/sh/lib.sh). One value for every host.
 */
export const RESTART_WAIT_SECONDS = 60;

/**
 * Seconds a restarted dockerd must keep running, as the same process and serving its certificate,
 * before the apply script calls the restart good (render/sh/lib.sh stays_up): a daemon that answers
 * and then crashes, restarted again and again by systemd, is rolled back. One value for every host.
 */
export const RESTART_SETTLE_SECONDS = 3;

/**
 * Seconds HostAudit allows for the SSH connection to a host and for its TLS port to answer the
 * probe from the machine running Pulumi (components/audit/inspect.ts); also the limit of the heal's
 * SSH connection. One value for every host.
 */
export const AUDIT_TIMEOUT_SECONDS = 15;

/** daemon.json keys that this program owns; `daemon.extra` may not set them. */
export const MANAGED_DAEMON_KEYS = ["hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey"] as const;

/** dockerd's log levels, as `daemon.logLevel` (and daemon.json's `log-level`) takes them. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;

// A DNS name as RFC 1123 allows it (labels of letters, digits and inner hyphens).
const DNS_NAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;
// useradd refuses longer names (shadow-utils' LOGIN_NAME_MAX check, 32 on Linux).
const LINUX_USER_NAME_MAX = 32;
// Names of hosts and clients become Pulumi resource names, file names and certificate CNs.
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const isIp = (s: string) => net.isIP(s) !== 0;
// A dotted string of digits only is meant as an IPv4 address, never as a DNS name.
const looksNumeric = (s: string) => /^[0-9.]+$/.test(s);
const isDnsName = (s: string) => DNS_NAME.test(s) && !looksNumeric(s);

const quoted = (v: unknown) => JSON.stringify(v);

// net.isIP accepts an IPv6 zone id (`fe80::1%eth0`); a certificate's SANs, a tcp:// URL
// (DOCKER_HOST, dockerd's hosts) and daemon.json's dns cannot carry one.
const hasZoneId = (s: string) => net.isIPv6(s) && s.includes("%");
const zoneIdProblem = (s: string) =>
  `${quoted(s)} has an IPv6 zone id (${s.slice(s.indexOf("%"))}), which neither a certificate SAN nor a tcp:// URL ` +
  `(DOCKER_HOST, dockerd's hosts) can carry; use a global or unique-local address, or a DNS name`;

/**
 * The form in which two spellings of one host's address are equal: a DNS name in lowercase
 * without its trailing dot, an IPv6 address in its canonical text (RFC 5952, as WHATWG URLs write
 * it), an IPv4-mapped one (`::ffff:10.0.0.1`) as the IPv4 address it reaches. net.isIPv4 takes
 * only dotted decimals without leading zeros, so an IPv4 address is already in that form.
 */
export function addressKey(address: string): string {
  if (net.isIPv6(address) && !hasZoneId(address)) {
    const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (!mapped) return canonical;
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
  }
  return address.toLowerCase().replace(/\.$/, "");
}

const keyType = (hostKey: string) => hostKey.trim().split(/\s+/)[0];
const isPinnable = (type: string) => (HOST_KEY_TYPES as readonly string[]).includes(type);

/** Why a host key of `type` cannot be pinned (it is not one of HOST_KEY_TYPES). */
function unpinnableBecause(type: string): string {
  if (type === "ssh-rsa") return "the command provider would offer only ssh-rsa (SHA-1) for it, which OpenSSH 8.8 and later refuse";
  if (type === "ssh-dss") return "the command provider would offer only ssh-dss (DSA) for it, which OpenSSH 7.0 and later refuse";
  // FIDO (sk-*) keys are user keys: ssh2, the drift audit's SSH client, cannot negotiate them as host keys.
  if (type.startsWith("sk-"))
    return "security-key types are not host key algorithms that the drift audit's SSH client (ssh2) can negotiate";
  return `only ${HOST_KEY_TYPES.join(", ")} can be pinned`;
}

/**
 * Why `command` is not a valid sh script, as this machine's `/bin/sh -n` says it (it parses and
 * runs nothing), or undefined. The command is an argument, never part of a command line, so no
 * text of it is interpreted here. The host's sh runs it the same way (`sh -c "$RESTART_COMMAND"`),
 * so a trailing `# comment` or quotes are fine there too.
 */
export function shSyntaxProblem(command: string): string | undefined {
  const r = spawnSync("/bin/sh", ["-n", "-c", command], { encoding: "utf8", timeout: 10_000 });
  // No /bin/sh to ask (or it hung): nothing to say, the host's sh will judge the command.
  if (r.error !== undefined || r.status === 0 || r.status === null) return undefined;
  const said = r.stderr
    .split("\n")
    .map((l) => l.trim().replace(/^\S*sh: (-c: )?(line )?\d+: /, ""))
    .filter((l) => l !== "");
  return said.length > 0 ? said.join("; ") : `sh -n exits with ${r.status}`;
}

/** The command that prints the host's ed25519 key in the form `hostKey` takes. */
const keyscanHint = (address: string, port: number) => `ssh-keyscan -t ed25519 -p ${port} ${address} | cut -d' ' -f2-`;

const name = (what: string) =>
  z.string().regex(NAME, {
    error: (i) => `${quoted(i.input)} is not a valid ${what} name (lowercase letters, digits and inner hyphens, at most 63)`,
  });

const noZoneId = z.string().refine((s) => !hasZoneId(s), { error: (i) => zoneIdProblem(i.input as string) });
const address = noZoneId.refine((s) => isIp(s) || isDnsName(s), {
  error: (i) => `${quoted(i.input)} is not an IP address or DNS name`,
});
const ipAddress = noZoneId.refine(isIp, { error: (i) => `${quoted(i.input)} is not an IP address` });
const dnsName = z.string().refine(isDnsName, { error: (i) => `${quoted(i.input)} is not a DNS name` });
const port = z
  .number({ error: (i) => `${quoted(i.input)} is not a port number` })
  .int({ error: (i) => `${quoted(i.input)} is not a port number` })
  .min(1, { error: (i) => `${quoted(i.input)} is out of range (1-65535)` })
  .max(65535, { error: (i) => `${quoted(i.input)} is out of range (1-65535)` });
/** A Linux user name (useradd's rules): the SSH user, and the members of `security.dockerGroup`. */
const userName = z
  .string()
  .max(LINUX_USER_NAME_MAX, {
    error: (i) => `${quoted(i.input)} is longer than ${LINUX_USER_NAME_MAX} characters, the limit of Linux user names`,
  })
  .regex(/^[a-z_][a-z0-9_-]*[$]?$/, { error: (i) => `${quoted(i.input)} is not a user name` });
/**
 * dockerd's `userns-remap`: `default` (dockerd makes and uses the user dockremap), or `USER[:GROUP]`,
 * each a name or a numeric id, whose subordinate id ranges are in /etc/subuid and /etc/subgid.
 */
const USERNS_REMAP = /^(default|([a-z_][a-z0-9_-]*[$]?|[0-9]+)(:([a-z_][a-z0-9_-]*[$]?|[0-9]+))?)$/;
const hours = z
  .number()
  .int()
  .positive({ error: (i) => `${quoted(i.input)} must be a positive whole number of hours` });

/**
 * Settings of dockerd. Each host may override any of them under `hosts[i].daemon`. Their defaults
 * are DAEMON_DEFAULTS below, and only there: the components get settled values, and Pulumi.yaml and
 * the README state the same ones (test/unit/defaults.test.ts checks that).
 */
const typedDaemonFields = {
  /** Address the TLS listener binds to. */
  bindAddress: ipAddress,
  /** Port of the TLS listener. */
  port,
  /** Keep the local unix socket `/var/run/docker.sock`. */
  keepUnixSocket: z.boolean(),
  /** dockerd `log-level`. */
  logLevel: z.enum(LOG_LEVELS, { error: (i) => `${quoted(i.input)} is not a log level (${LOG_LEVELS.join(", ")})` }),
  /** dockerd `debug`. */
  debug: z.boolean(),
  /** DNS servers for containers (`dns`). */
  dns: z.array(ipAddress),
  /** Registry mirrors (`registry-mirrors`), as URLs. */
  registryMirrors: z.array(z.url({ error: (i) => `${quoted(i.input)} is not a URL` })),
  /** Registries reached without TLS (`insecure-registries`). Allowed, with a warning. */
  insecureRegistries: z.array(z.string().min(1)),
  /** Keep containers running while dockerd restarts (`live-restore`). */
  liveRestore: z.boolean(),
  /** Traffic between containers on the default bridge (`icc`; CIS 2.2 wants false). Unset: not written, dockerd's own (true). */
  icc: z.boolean().optional(),
  /** Containers cannot gain privileges (`no-new-privileges`; CIS 2.14 wants true). Unset: not written (false). */
  noNewPrivileges: z.boolean().optional(),
  /** dockerd's userland proxy for published ports (`userland-proxy`; CIS 2.16 wants false). Unset: not written (true). */
  userlandProxy: z.boolean().optional(),
  /**
   * User-namespace remapping (`userns-remap`; CIS 2.9): `default` or `USER[:GROUP]`. Unset: not written
   * (no remapping). A host without the subordinate ids it needs fails to start dockerd, and the apply
   * step rolls back with the daemon's message.
   */
  usernsRemap: z
    .string()
    .regex(USERNS_REMAP, { error: (i) => `${quoted(i.input)} is not "default" or USER[:GROUP] (names or numeric ids)` })
    .optional(),
};

type TypedDaemonKey = keyof typeof TYPED_DAEMON_KEYS;
const isTypedDaemonKey = (k: string): k is TypedDaemonKey => Object.prototype.hasOwnProperty.call(TYPED_DAEMON_KEYS, k);

// dockerd matches daemon.json keys regardless of case, so " TLSVerify" must be treated as tlsverify.
const daemonKeyAsRead = (key: string) => key.trim().toLowerCase();

/**
 * `daemon.extra`, key by key: no key this program manages, in any spelling; a key that a typed
 * setting writes only in its own spelling, and with a value that setting would accept (whether
 * the setting is also set is checked with the whole stack in view, in rawSchema).
 */
function checkExtra(extra: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [key, value] of Object.entries(extra)) {
    const read = daemonKeyAsRead(key);
    const spelled = key === read ? "" : ` as ${quoted(read)} (dockerd matches daemon.json keys regardless of case)`;
    if ((MANAGED_DAEMON_KEYS as readonly string[]).includes(read)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `is managed by this program${spelled} (a listener without TLS, or other TLS files, would defeat it); remove it`,
      });
    } else if (isTypedDaemonKey(read)) {
      const setting = TYPED_DAEMON_KEYS[read];
      if (spelled) {
        ctx.addIssue({ code: "custom", path: [key], message: `is read by dockerd${spelled}; set daemon.${setting} instead` });
        continue;
      }
      const parsed = typedDaemonFields[setting].safeParse(value);
      // The typed setting's own issues, so that extra["log-level"] is held to daemon.logLevel's rules.
      for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
    }
  }
}

const daemonFields = {
  ...typedDaemonFields,
  /** Any other daemon.json keys, written as given (see checkExtra). */
  extra: z.record(z.string(), z.unknown()).superRefine(checkExtra),
};
const daemonSchema = z.object(daemonFields).strict();
const daemonOverrideSchema = z.object(daemonFields).partial().strict();
export type DaemonSettings = z.infer<typeof daemonSchema>;
type DaemonOverrides = z.infer<typeof daemonOverrideSchema>;

// Parsed, so that the defaults obey the same rules as the config.
export const DAEMON_DEFAULTS: DaemonSettings = daemonSchema.parse({
  bindAddress: "0.0.0.0",
  port: 2376, // Docker's TLS port
  keepUnixSocket: true,
  logLevel: "info",
  debug: false,
  dns: [],
  registryMirrors: [],
  insecureRegistries: [],
  liveRestore: true,
  extra: {},
});

/**
 * Who may drive dockerd through its unix socket: the `docker` group is root in all but name (CIS
 * 1.1.2). `dockerGroup` lists the members allowed; the audit reports any other member as a fail, and
 * with `enforceDockerGroup` the apply step removes them (render/sh/lib.sh). Unset: members are
 * reported as a warning, to be reviewed. Each host may override either under `hosts[i].security`.
 */
const securityFields = {
  /** The members the `docker` group may have. */
  dockerGroup: z.array(userName).superRefine((names, ctx) =>
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: [i], message: `${quoted(n)} is listed twice` });
    }),
  ),
  /** Remove other members from the group on every apply (their list kept for destroy). Needs dockerGroup. */
  enforceDockerGroup: z.boolean(),
};
const securityOverrideSchema = z.object(securityFields).partial().strict();
type SecurityOverrides = z.infer<typeof securityOverrideSchema>;

/** A host's security settings, the stack's and its own merged. */
export interface SecuritySettings {
  /** The members allowed in the `docker` group; undefined when not set (members are only reviewed). */
  dockerGroup?: string[];
  /** The apply step removes members not in dockerGroup. */
  enforceDockerGroup: boolean;
}

/** The security settings of a stack that sets none. */
export const SECURITY_DEFAULTS: SecuritySettings = { enforceDockerGroup: false };

const hostSchema = z
  .object({
    /** Short name: resource names, the CN of its server certificate. */
    name: name("host"),
    /** IP address or DNS name used for SSH and in DOCKER_HOST; also a SAN. */
    address,
    /** Extra DNS SANs of the server certificate. */
    dnsNames: z.array(dnsName).default([]),
    /** Extra IP SANs of the server certificate. */
    ipAddresses: z.array(ipAddress).default([]),
    /** SSH user. */
    user: userName.default("root"),
    /** SSH port. */
    port: port.default(22),
    /** Run the remote commands through `sudo -n`. Default: true unless the user is root. */
    sudo: z.boolean().optional(),
    /**
     * Pinned SSH host key, as in known_hosts (`ssh-ed25519 AAAA…`); ed25519 or ECDSA (see HOST_KEY_TYPES).
     * Default: from sshKnownHostsPath; a host with neither is an error unless insecureSkipHostKeyCheck.
     */
    hostKey: z
      .string()
      .regex(/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+) [A-Za-z0-9+/=]+( .*)?$/, {
        error: () => `is not an SSH public key line ("ssh-ed25519 AAAA…")`,
      })
      .optional(),
    /** How dockerd is started: `systemd`, `sysv` (/etc/default/docker DOCKER_OPTS) or `custom`. */
    init: z.enum(INIT_KINDS, { error: (i) => `${quoted(i.input)} is not an init kind (${INIT_KINDS.join(", ")})` }).default("systemd"),
    /**
     * Connect to this host without checking its SSH key. Default: the stack's
     * insecureSkipHostKeyCheck; `false` here insists on a pin even when the stack opts out.
     */
    insecureSkipHostKeyCheck: z.boolean().optional(),
    /**
     * With `init: custom`, the command that restarts dockerd: run as root by `sh -c` on the host
     * (render/sh/lib.sh), so any sh is allowed, several lines included; checked here with `sh -n`.
     */
    restartCommand: z
      .string()
      .refine((s) => s.trim() !== "", { error: "is empty: it would restart nothing" })
      // No command line (spawnSync's argv, the SSH command) can carry a NUL; sh would never see the rest.
      .refine((s) => !s.includes("\0"), { error: "contains a NUL character, which no command line can carry" })
      .optional(),
    /**
     * Take the host over from the project or stack that manages it now (the host records its owner:
     * render/sh/lib.sh). Without it, such a host is refused before anything on it changes.
     */
    takeOver: z.boolean().default(false),
    /** Per-host overrides of `daemon`. */
    daemon: daemonOverrideSchema.default({}),
    /** Per-host overrides of `security`. */
    security: securityOverrideSchema.default({}),
  })
  .strict()
  .superRefine((h, ctx) => {
    // Here rather than in parseConfig, so that it is reported with the other hosts' problems.
    if (h.hostKey !== undefined && h.insecureSkipHostKeyCheck === true) {
      ctx.addIssue({
        code: "custom",
        path: ["insecureSkipHostKeyCheck"],
        message: "is true, but the host has a pinned hostKey; remove one of them",
      });
    }
    if (h.restartCommand?.trim() && !h.restartCommand.includes("\0")) {
      const syntax = shSyntaxProblem(h.restartCommand);
      if (syntax !== undefined) ctx.addIssue({ code: "custom", path: ["restartCommand"], message: `is not valid sh: ${syntax}` });
    }
    const type = h.hostKey === undefined ? undefined : keyType(h.hostKey);
    if (type !== undefined && !isPinnable(type)) {
      ctx.addIssue({
        code: "custom",
        path: ["hostKey"],
        message: `is an ${type} key; ${unpinnableBecause(type)}. Pin the host's ed25519 key instead: ${keyscanHint(h.address, h.port)}`,
      });
    }
  });

const clientSchema = z
  .object({
    /** Client name: the CN of its certificate and the key of its stack outputs. */
    name: name("client").refine((n) => n !== CHECK_CLIENT, {
      error: (i) => `${quoted(i.input)} is reserved for the program's own endpoint checks`,
    }),
  })
  .strict();

/** The PKI settings; each field's `.default` is the one place its default is stated (see PKI_DEFAULTS). */
const pkiSchema = z
  .object({
    /** Key algorithm of every key. */
    algorithm: z
      .enum(KEY_ALGORITHMS, { error: (i) => `${quoted(i.input)} is not one of ${KEY_ALGORITHMS.join(", ")}` })
      .default("ECDSA-P256"),
    /** Validity of the CAs (and of each client's issuer), in hours. */
    caValidityHours: hours.default(87600), // 10 years
    /** Validity of server and client certificates, in hours. */
    leafValidityHours: hours.default(8760), // 1 year
    /** Reissue a certificate this many hours before it expires, on the next `pulumi up`. */
    renewBeforeHours: hours.default(720), // 30 days
    /**
     * Warn about a certificate this many hours before it expires, on every `pulumi preview` and `up`
     * (and `npm run drift` about the certificate a host serves). Unset: defaultWarnBeforeHours.
     */
    warnBeforeHours: hours.optional(),
    /** Subject organisation (O) of every certificate. */
    organization: z.string().min(1).default("docker-tls"),
    /**
     * Which CA issues the server certificates: 1 is the stack's first. Raising it starts a CA
     * rotation (index.ts): a new CA, every server certificate reissued by it.
     */
    caGeneration: z
      .number({ error: (i) => `${quoted(i.input)} is not a whole number` })
      .int({ error: (i) => `${quoted(i.input)} is not a whole number` })
      .min(1, { error: (i) => `${quoted(i.input)} must be 1 or more` })
      .default(1),
    /**
     * During a CA rotation (phase 1), the clients' ca.pem also holds the previous generation's CA,
     * so that bundles taken before and after both verify every daemon; false (phase 2) drops it.
     */
    trustPreviousCa: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.trustPreviousCa && p.caGeneration < 2) {
      ctx.addIssue({
        code: "custom",
        path: ["trustPreviousCa"],
        message: "needs pki.caGeneration 2 or more: generation 1 has no previous CA",
      });
    }
  });

/** Defaults of the top-level keys that are neither objects nor lists (Pulumi.yaml and the README state them too). */
export const STACK_DEFAULTS = {
  /** A host without a pinned SSH key is a config error, not a host whose key is never checked. */
  insecureSkipHostKeyCheck: false,
} as const;

/** The notice that an unset pki.warnBeforeHours gives before a certificate enters the renew-before window. */
const WARN_NOTICE_HOURS = 720; // 30 days

/**
 * The warning window of a stack that does not set pki.warnBeforeHours: WARN_NOTICE_HOURS more than
 * the renew-before window, so that the warning comes that long before the `pulumi up` that reissues;
 * but at most half-way from there to the leaves' validity, so that a short-lived leaf is not warned
 * about for most of its life (with less than two hours between the two, the hour after the window).
 * Derived rather than fixed, so that a stack valid before the setting existed (renewBeforeHours
 * 1440 or more, or short leaves) is neither refused nor warned about on every run for a key it never set.
 */
export function defaultWarnBeforeHours(p: Pick<PkiConfig, "renewBeforeHours" | "leafValidityHours">): number {
  const halfWay = Math.floor((p.leafValidityHours - p.renewBeforeHours) / 2);
  return p.renewBeforeHours + Math.max(1, Math.min(WARN_NOTICE_HOURS, halfWay));
}

/** The PKI settings as parsed (warnBeforeHours perhaps unset), with every default applied. */
function settlePki(p: z.infer<typeof pkiSchema>): PkiConfig {
  return { ...p, warnBeforeHours: p.warnBeforeHours ?? defaultWarnBeforeHours(p) };
}

/** The PKI settings of a stack that sets no `pki` key. */
export const PKI_DEFAULTS: PkiConfig = settlePki(pkiSchema.parse({}));

/**
 * The PKI settings of a stack's `docker-tls:pki` value (as `pulumi config` holds it), for the
 * scripts that read it outside the program (`npm run drift`): PKI_DEFAULTS when it is unset or
 * is not a valid `pki` (the program, run by the same command, reports that).
 */
export function pkiSettings(raw: unknown): PkiConfig {
  const parsed = pkiSchema.safeParse(raw ?? {});
  return parsed.success ? settlePki(parsed.data) : PKI_DEFAULTS;
}

const rawSchema = z
  .object({
    hosts: z.array(hostSchema).min(1, { error: "at least one host is needed" }),
    clients: z.array(clientSchema).default([]),
    pki: pkiSchema.default(() => ({ ...PKI_DEFAULTS })),
    daemon: daemonOverrideSchema.default({}),
    security: securityOverrideSchema.default({}),
    sshPrivateKey: z.string().optional(),
    sshPrivateKeyPath: z.string().optional(),
    sshKnownHostsPath: z.string().optional(),
    /** Connect to hosts without a pinned SSH key (hostKey or sshKnownHostsPath) unchecked, with a warning each. */
    insecureSkipHostKeyCheck: z.boolean().default(STACK_DEFAULTS.insecureSkipHostKeyCheck),
  })
  .strict()
  .superRefine((c, ctx) => {
    const dupes = (names: string[], at: string) =>
      names.forEach((n, i) => {
        if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: [at, i, "name"], message: `${quoted(n)} is used twice` });
      });
    dupes(
      c.hosts.map((h) => h.name),
      "hosts",
    );
    dupes(
      c.clients.map((h) => h.name),
      "clients",
    );
    // Two entries for one machine would each rewrite its /etc/docker and restart its dockerd.
    const firstAt = new Map<string, number>();
    c.hosts.forEach((h, i) => {
      const key = addressKey(h.address);
      const first = firstAt.get(key);
      if (first === undefined) {
        firstAt.set(key, i);
        return;
      }
      const other = c.hosts[first];
      const spelled = other.address === h.address ? "" : ` (as ${quoted(other.address)})`;
      ctx.addIssue({
        code: "custom",
        path: ["hosts", i, "address"],
        message: `${quoted(h.address)} is already the address of hosts[${first}] (${other.name})${spelled}: one machine cannot be two hosts`,
      });
    });
    // A certificate is issued after its CA, so one as long-lived as the CA would outlive it, and
    // be refused once the CA has expired however long it still had.
    if (c.pki.leafValidityHours >= c.pki.caValidityHours) {
      ctx.addIssue({
        code: "custom",
        path: ["pki", "leafValidityHours"],
        message: `${c.pki.leafValidityHours} must be shorter than pki.caValidityHours (${c.pki.caValidityHours}): a certificate cannot outlive its issuer`,
      });
    }
    if (c.pki.leafValidityHours <= c.pki.renewBeforeHours) {
      ctx.addIssue({
        code: "custom",
        path: ["pki", "leafValidityHours"],
        message: `${c.pki.leafValidityHours} must be longer than pki.renewBeforeHours (${c.pki.renewBeforeHours}), or every run would reissue`,
      });
    }
    // A set warning window must end before the renew-before window does: the run that would warn
    // inside it reissues instead. (One as long as a leaf's life is allowed, and warned about: parseConfig.)
    const warn = c.pki.warnBeforeHours;
    if (warn !== undefined && warn <= c.pki.renewBeforeHours) {
      ctx.addIssue({
        code: "custom",
        path: ["pki", "warnBeforeHours"],
        message: `${warn} must be larger than pki.renewBeforeHours (${c.pki.renewBeforeHours}), or a certificate would be reissued before it is warned about`,
      });
    }
    if (c.sshPrivateKey === undefined && c.sshPrivateKeyPath === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["sshPrivateKey"],
        message: "no SSH key: set the secret docker-tls:sshPrivateKey (pulumi config set --secret) or docker-tls:sshPrivateKeyPath",
      });
    }
    c.hosts.forEach((h, i) => {
      // Without a key to check, whoever answers at the address gets the session: the server key
      // sent on stdin, and root. With sshKnownHostsPath the pin is looked up (and a miss reported)
      // by parseConfig, which reads the file.
      const unpinned = h.hostKey === undefined && (c.sshKnownHostsPath === undefined || h.insecureSkipHostKeyCheck === true);
      if (unpinned && !(h.insecureSkipHostKeyCheck ?? c.insecureSkipHostKeyCheck)) {
        ctx.addIssue({
          code: "custom",
          path: ["hosts", i, "hostKey"],
          message:
            `no pinned SSH host key; pin it as hostKey: ${keyscanHint(h.address, h.port)} ` +
            `(or list the host in the file named by sshKnownHostsPath; to connect without checking, set insecureSkipHostKeyCheck: true)`,
        });
      }
      if (h.init === "custom" && h.restartCommand === undefined) {
        ctx.addIssue({ code: "custom", path: ["hosts", i, "restartCommand"], message: "is required with init: custom" });
      }
      if (h.init !== "custom" && h.restartCommand) {
        ctx.addIssue({
          code: "custom",
          path: ["hosts", i, "restartCommand"],
          message: `only applies to init: custom (this host has init: ${h.init})`,
        });
      }
      // Enforcement without a list would empty the group: say where each half comes from.
      const security = mergeSecurity(c.security, h.security);
      if (security.enforceDockerGroup && security.dockerGroup === undefined) {
        const own = h.security.enforceDockerGroup !== undefined;
        ctx.addIssue({
          code: "custom",
          path: own ? ["hosts", i, "security", "enforceDockerGroup"] : ["security", "enforceDockerGroup"],
          message: `needs security.dockerGroup (the members allowed), which ${own ? "this host" : `hosts[${i}] (${h.name})`} does not set; an empty list allows nobody`,
        });
      }
    });
    // A daemon.json key comes from one place: a typed setting set anywhere for a host (the
    // stack's daemon or its own) and the same key in an extra that applies to it would leave one
    // silently overriding the other.
    const twins = (d: DaemonOverrides) => Object.keys(d.extra ?? {}).filter(isTypedDaemonKey);
    const twinIssue = (at: (string | number)[], key: TypedDaemonKey, setBy: string) => {
      const setting = TYPED_DAEMON_KEYS[key];
      ctx.addIssue({
        code: "custom",
        path: [...at, "extra", key],
        message: `is what daemon.${setting} writes, and ${setBy} is set too; set daemon.${setting} only`,
      });
    };
    for (const key of twins(c.daemon)) {
      const setting = TYPED_DAEMON_KEYS[key];
      if (c.daemon[setting] !== undefined) twinIssue(["daemon"], key, `daemon.${setting}`);
      c.hosts.forEach((h, i) => {
        if (h.daemon[setting] !== undefined) twinIssue(["daemon"], key, `hosts[${i}] (${h.name}).daemon.${setting}`);
      });
    }
    c.hosts.forEach((h, i) => {
      for (const key of twins(h.daemon)) {
        const setting = TYPED_DAEMON_KEYS[key];
        const setBy =
          h.daemon[setting] !== undefined
            ? `hosts[${i}] (${h.name}).daemon.${setting}`
            : c.daemon[setting] !== undefined
              ? `daemon.${setting}`
              : undefined;
        if (setBy !== undefined) twinIssue(["hosts", i, "daemon"], key, setBy);
      }
    });
  });

/** The stack's security settings, then the host's own over them. */
function mergeSecurity(stack: SecurityOverrides, host: SecurityOverrides): SecuritySettings {
  const merged = { ...SECURITY_DEFAULTS, ...stack, ...host };
  return merged.dockerGroup === undefined ? { enforceDockerGroup: merged.enforceDockerGroup } : merged;
}

/** A host with every default applied and its daemon settings merged. */
export interface HostConfig {
  name: string;
  address: string;
  dnsNames: string[];
  ipAddresses: string[];
  user: string;
  port: number;
  sudo: boolean;
  /** The pinned SSH host key; absent only for a host that insecureSkipHostKeyCheck lets through. */
  hostKey?: string;
  init: InitKind;
  restartCommand?: string;
  /** May take the host from another project or stack. */
  takeOver: boolean;
  daemon: DaemonSettings;
  /** Who may be in the docker group, and whether the apply step enforces it. */
  security: SecuritySettings;
}

export interface PkiConfig {
  algorithm: KeyAlgorithm;
  caValidityHours: number;
  leafValidityHours: number;
  renewBeforeHours: number;
  /** Longer than renewBeforeHours; shorter than leafValidityHours unless set so (then warned about). */
  warnBeforeHours: number;
  organization: string;
  caGeneration: number;
  trustPreviousCa: boolean;
}

/** The validated configuration. The SSH key is held apart: the caller makes it a secret. */
export interface Config {
  hosts: HostConfig[];
  clients: { name: string }[];
  pki: PkiConfig;
  /**
   * Where the SSH private key comes from: the secret `docker-tls:sshPrivateKey` (read by the
   * caller with requireSecret), or the content of `sshPrivateKeyPath` (the caller wraps it in
   * pulumi.secret).
   */
  sshKey: { fromSecret: true } | { fromSecret: false; content: string };
  /** Warnings that do not stop the run (unpinned hosts, insecure registries…). */
  warnings: string[];
}

/** Stands for the value of a secret `sshPrivateKey` that is present but not read here. */
export const SECRET_PRESENT = "<secret: present>";

/**
 * Thrown for invalid configuration; `problems` has one line per problem. A RunError, because the
 * Node SDK prints a RunError that ends the program as its message alone: every problem, each on its
 * line, without the "unhandled exception" banner, a stack trace or a dump of `problems`.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(`invalid docker-tls configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** `hosts[2] (web3).address`: the path of a problem, naming the host or client where there is one. */
function describePath(issuePath: PropertyKey[], raw: unknown): string {
  let out = "";
  let node: unknown = raw;
  for (const [i, key] of issuePath.entries()) {
    if (typeof key === "number") {
      out += `[${key}]`;
      node = Array.isArray(node) ? node[key] : undefined;
      const label = node && typeof node === "object" ? (node as { name?: unknown }).name : undefined;
      // Quoted unless it reads plainly, so that no name can pass for more of the path or a new line.
      if (i === 1 && typeof label === "string" && label) out += ` (${/^[\w.-]+$/.test(label) ? label : quoted(label)})`;
    } else {
      // A daemon.extra key may be anything (`"tlsverify "`): quoted unless it reads plainly.
      const word = String(key);
      out += /^[A-Za-z0-9_-]+$/.test(word) ? (out ? `.${word}` : word) : `[${quoted(word)}]`;
      node = node && typeof node === "object" ? (node as Record<string, unknown>)[String(key)] : undefined;
    }
  }
  return out || "(config)";
}

/**
 * The message of a zod `invalid_type` issue. zod 4 keeps no `input` on its issues (unless asked to
 * report every input, secrets included), so the value is looked up in the raw config: a key that
 * is not there at all is "required", any other value is named with its type (`"22" is a string,
 * not a number`: config set without --path or YAML quotes give strings).
 */
function wrongType(issuePath: PropertyKey[], expected: string, raw: unknown): string {
  let node: unknown = raw;
  for (const key of issuePath) {
    if (node === null || typeof node !== "object" || !Object.prototype.hasOwnProperty.call(node, key)) return "is required";
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  if (node === undefined) return "is required";
  const want = EXPECTED_TYPES[expected] ?? `a ${expected}`;
  if (node === null) return `is null, not ${want}`;
  // A list or an object is named by its type only: its JSON could be a screenful.
  if (Array.isArray(node)) return `is a list, not ${want}`;
  if (typeof node === "object") return `is an object, not ${want}`;
  return `${quoted(node)} is a ${typeof node}, not ${want}`;
}

// zod's names of the expected types, in the words of YAML and `pulumi config`.
const EXPECTED_TYPES: Record<string, string> = {
  array: "a list",
  object: "an object",
  record: "an object",
  boolean: "a boolean (true or false)",
  number: "a number",
  int: "a whole number",
  string: "a string",
};

// Quoted only when needed, so that the usual paths read as typed.
const shellWord = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const expandHome = (p: string) => (p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p);

/**
 * Validates raw stack configuration (the `docker-tls:*` keys, already parsed from YAML/JSON)
 * and returns the typed configuration, or throws a ConfigError listing every problem.
 * `readFile` is injectable so tests need no files.
 */
export function parseConfig(raw: Record<string, unknown>, readFile: (p: string) => string = (p) => fs.readFileSync(p, "utf8")): Config {
  const result = rawSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      let message = issue.message;
      if (issue.code === "unrecognized_keys") message = `unknown key(s) ${issue.keys.map(quoted).join(", ")}`;
      else if (issue.code === "invalid_type") message = wrongType(issue.path, issue.expected, raw);
      return `${describePath(issue.path, raw)}: ${message}`;
    });
    throw new ConfigError(problems);
  }
  const c = result.data;
  const problems: string[] = [];

  // A secret set with `pulumi config set --secret` is checked only for presence here: its value
  // stays inside Pulumi's secret handling, and SSH reports a malformed key by itself.
  let sshPrivateKey = c.sshPrivateKey === SECRET_PRESENT ? undefined : c.sshPrivateKey;
  if (c.sshPrivateKey === undefined && c.sshPrivateKeyPath !== undefined) {
    try {
      sshPrivateKey = readFile(expandHome(c.sshPrivateKeyPath));
    } catch (e) {
      problems.push(`sshPrivateKeyPath: cannot read ${quoted(c.sshPrivateKeyPath)}: ${(e as Error).message}`);
    }
  }
  if (sshPrivateKey !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(sshPrivateKey)) {
    problems.push(`${c.sshPrivateKey !== undefined ? "sshPrivateKey" : "sshPrivateKeyPath"}: is not a PEM or OpenSSH private key`);
  }

  let knownHosts: { path: string; text: string } | undefined;
  if (c.sshKnownHostsPath !== undefined) {
    try {
      const knownHostsPath = expandHome(c.sshKnownHostsPath);
      knownHosts = { path: knownHostsPath, text: readFile(knownHostsPath) };
    } catch (e) {
      problems.push(`sshKnownHostsPath: cannot read ${quoted(c.sshKnownHostsPath)}: ${(e as Error).message}`);
    }
  }

  const hosts: HostConfig[] = c.hosts.map((h, i) => {
    let hostKey = h.hostKey;
    // A host that opts out itself is not looked up: the file may well not have it.
    if (hostKey === undefined && knownHosts !== undefined && h.insecureSkipHostKeyCheck !== true) {
      hostKey = findHostKey(knownHosts.text, h.address, h.port);
      const at = `hosts[${i}] (${h.name}).hostKey`;
      const file = `sshKnownHostsPath ${quoted(c.sshKnownHostsPath)}`;
      if (hostKey === undefined) {
        problems.push(`${at}: no key for ${h.address} in ${file}`);
      } else if (!isPinnable(keyType(hostKey))) {
        // findHostKey returns such a key only when the file has nothing better for the host.
        const type = keyType(hostKey);
        problems.push(
          `${at}: ${file} has only an ${type} key for ${h.address}; ${unpinnableBecause(type)}. ` +
            `Add the host's ed25519 key to the file (ssh-keyscan -t ed25519 -p ${h.port} ${h.address} >> ${shellWord(knownHosts.path)}), ` +
            `or pin it as hostKey: ${keyscanHint(h.address, h.port)}`,
        );
      }
    }
    return {
      name: h.name,
      address: h.address,
      dnsNames: h.dnsNames,
      ipAddresses: h.ipAddresses,
      user: h.user,
      port: h.port,
      sudo: h.sudo ?? h.user !== "root",
      hostKey,
      init: h.init,
      restartCommand: h.restartCommand,
      takeOver: h.takeOver,
      daemon: { ...DAEMON_DEFAULTS, ...c.daemon, ...h.daemon, extra: { ...c.daemon.extra, ...h.daemon.extra } },
      security: mergeSecurity(c.security, h.security),
    };
  });
  if (problems.length > 0) throw new ConfigError(problems);

  // Held to insecureRegistries' rules by checkExtra, and never set beside it (rawSchema).
  const insecureRegistries = (d: DaemonSettings) => [
    ...d.insecureRegistries,
    ...((d.extra["insecure-registries"] as string[] | undefined) ?? []),
  ];
  const warnings = [
    ...hosts
      .filter((h) => h.hostKey === undefined)
      .map(
        (h) =>
          `host ${h.name}: its SSH host key is not checked (insecureSkipHostKeyCheck), so whoever answers at ${h.address} gets the session; ` +
          `pin it as hostKey: ${keyscanHint(h.address, h.port)}`,
      ),
    ...hosts
      .filter((h) => insecureRegistries(h.daemon).length > 0)
      .map((h) => `host ${h.name}: insecure-registries ${insecureRegistries(h.daemon).join(", ")} are reached without TLS`),
    // Allowed (a deliberate "always remind me", or a test that needs warnings at once), but said:
    // defaultWarnBeforeHours never does it.
    ...(c.pki.warnBeforeHours !== undefined && c.pki.warnBeforeHours >= c.pki.leafValidityHours
      ? [
          `pki.warnBeforeHours (${c.pki.warnBeforeHours}) is not shorter than pki.leafValidityHours (${c.pki.leafValidityHours}): ` +
            `every server and client certificate is warned about on every run from the day it is issued`,
        ]
      : []),
  ];

  const sshKey: Config["sshKey"] =
    c.sshPrivateKey === SECRET_PRESENT ? { fromSecret: true } : { fromSecret: false, content: sshPrivateKey as string };
  return { hosts, clients: c.clients, pki: settlePki(c.pki), sshKey, warnings };
}

/**
 * The key of `address` (at `port`) in a known_hosts file, as `type base64`, or undefined.
 * Plain, bracketed (`[host]:2222`) and hashed (`|1|salt|hash`) entries are understood;
 * `@cert-authority` and `@revoked` lines are not host keys and are skipped.
 *
 * A host usually has several keys (ssh-keyscan writes one line per type, RSA often first). The
 * best type of HOST_KEY_TYPES wins, since the pinned key's type is the only one offered to the
 * server; an RSA, DSA or other key is returned only when the host has nothing better, so that
 * the caller can say so.
 */
export function findHostKey(knownHosts: string, address: string, port: number): string | undefined {
  const wanted = port === 22 ? address : `[${address}]:${port}`;
  const rank = (type: string) => (isPinnable(type) ? HOST_KEY_TYPES.indexOf(type as HostKeyType) : HOST_KEY_TYPES.length);
  let best: { type: string; key: string } | undefined;
  for (const line of knownHosts.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0].startsWith("#") || fields[0].startsWith("@")) continue;
    const [patterns, type, key] = fields;
    const matches = patterns.split(",").some((p) => (p.startsWith("|1|") ? hashedMatch(p, wanted) : p === wanted));
    // Strictly better only: among equals, the file's first line wins.
    if (matches && (best === undefined || rank(type) < rank(best.type))) best = { type, key };
  }
  return best && `${best.type} ${best.key}`;
}

function hashedMatch(entry: string, host: string): boolean {
  // OpenSSH HashKnownHosts: |1|base64(salt)|base64(HMAC-SHA1(salt, host)).
  const [, , salt, hash] = entry.split("|");
  if (!salt || !hash) return false;
  const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(host).digest("base64");
  return mac === hash;
}

/** Reads and validates the current stack's configuration (namespace `docker-tls`). */
export function loadStackConfig(): Config {
  const cfg = new pulumi.Config("docker-tls");
  const raw: Record<string, unknown> = {};
  for (const key of ["hosts", "clients", "pki", "daemon", "security"]) {
    const v = cfg.getObject<unknown>(key);
    if (v !== undefined) raw[key] = v;
  }
  // Pulumi.yaml gives these keys "" as default: empty means unset.
  for (const key of ["sshPrivateKeyPath", "sshKnownHostsPath"]) {
    const v = cfg.get(key);
    if (v) raw[key] = v;
  }
  // Booleans come as strings; anything but true/false is passed on as given, for the schema to
  // name it (`"yes" is a string, not a boolean`), rather than getBoolean's error without the key's rules.
  const skip = cfg.get("insecureSkipHostKeyCheck");
  if (skip) raw.insecureSkipHostKeyCheck = skip === "true" ? true : skip === "false" ? false : skip;
  // Only the presence of the secret is checked here; index.ts reads it with requireSecret.
  if (cfg.get("sshPrivateKey")) raw.sshPrivateKey = SECRET_PRESENT;
  return parseConfig(raw);
}
