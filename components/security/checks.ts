/**
 * The security audit's judgement of a host: pure functions from what the host's audit observed
 * (components/audit/facts.ts, and the drift facts of components/audit/compare.ts) and what its plan
 * wants (host/plan.ts SecurityPlan) to one SecurityCheck per question, and a per-host summary.
 *
 * Each check is `pass`, `warn` (a recommendation not followed), `fail` (someone can get around
 * the mutual TLS, or the host contradicts its configuration) or `unknown` (a fact could not be had:
 * a tool missing on the host, a kernel without the feature, dockerd down); a missing fact is never a
 * pass. `cis` is the recommendation of the CIS Docker Benchmark v1.6.0 (CIS_VERSION) it implements,
 * where there is one (ids as in that version, which docker-bench-security also follows).
 *
 * Used by HostAudit (the `security` stack output and a warning per failing check) and by
 * `npm run audit` (scripts/audit.ts), on the same facts: so their results are the same.
 */
import type { Observed } from "../audit/compare";
import type { SecurityFacts, StatFact } from "../audit/facts";
import type { SecurityPlan } from "../../host/plan";

/** The CIS Docker Benchmark version whose recommendation ids the checks carry. */
export const CIS_VERSION = "1.6.0";

export type CheckStatus = "pass" | "warn" | "fail" | "unknown";
export const CHECK_STATUSES: readonly CheckStatus[] = ["pass", "warn", "fail", "unknown"];

export interface SecurityCheck {
  /** `section.name`: access.*, protection.*, files.*, tls.*. */
  id: string;
  title: string;
  status: CheckStatus;
  /** Why, in a sentence: what was found, and what to do when it is not a pass. */
  reason: string;
  /** The CIS Docker Benchmark (CIS_VERSION) recommendation(s), e.g. `3.15, 3.16`. */
  cis?: string;
}

/** One host's result: the `security.<host>` stack output and `npm run audit -- --json`'s value per host. */
export interface HostSecurity {
  pass: number;
  warn: number;
  fail: number;
  unknown: number;
  /** The checks whose status is fail. */
  failing: SecurityCheck[];
  /** Every check, in order. */
  checks: SecurityCheck[];
  /** Why the host could not be audited (unreachable); then there are no checks. */
  error?: string;
}

/** A served certificate with fewer days left than this is a warning. */
export const CERT_WARN_DAYS = 30;

interface Context {
  plan: SecurityPlan;
  observed: Observed;
  facts?: SecurityFacts;
}

type Check = Omit<SecurityCheck, "status" | "reason">;
const result = (c: Check, status: CheckStatus, reason: string): SecurityCheck => ({
  id: c.id,
  title: c.title,
  status,
  reason,
  ...(c.cis ? { cis: c.cis } : {}),
});

const NO_FACTS = "the host's security facts were not gathered (its audit is from an older version of this program: run pulumi up)";
const names = (l: string[]) => l.join(", ");

/** Whether an octal mode grants nothing beyond `max` (`640` within `0o660`). */
export function modeWithin(mode: string, max: number): boolean {
  if (!/^[0-7]{1,4}$/.test(mode)) return false;
  return (parseInt(mode, 8) & ~max & 0o7777) === 0;
}

// ---------------------------------------------------------------------------------------------
// Access: who can drive dockerd

function dockerGroup(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.docker-group", title: "Members of the docker group", cis: "1.1.2" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  const blind = f.group.source !== "getent";
  const blindNote = "getent is missing, so members from a directory (LDAP, sssd) are not seen";
  if (!f.group.exists) {
    return blind ? result(c, "unknown", `no docker group in /etc/group; ${blindNote}`) : result(c, "pass", "there is no docker group");
  }
  const members = [...new Set([...f.group.members, ...f.group.local])].sort();
  const allowed = ctx.plan.dockerGroup;
  if (allowed !== undefined) {
    const others = members.filter((u) => !allowed.includes(u));
    if (others.length > 0) {
      const remote = others.filter((u) => !f.group.local.includes(u));
      const heal = ctx.plan.enforceDockerGroup
        ? "security.enforceDockerGroup is set: pulumi up removes them"
        : "remove them, or set security.enforceDockerGroup to have pulumi up do it";
      const note = remote.length ? ` (${names(remote)} from a directory, not /etc/group: the program cannot remove them)` : "";
      return result(c, "fail", `${names(others)} can drive dockerd, as root, and are not in security.dockerGroup${note}; ${heal}`);
    }
  } else if (members.length > 0) {
    return result(
      c,
      "warn",
      `${names(members)} can drive dockerd, as root, through its socket: review them, and list the allowed ones in security.dockerGroup`,
    );
  }
  if (blind)
    return result(c, "unknown", `${members.length ? `only allowed members (${names(members)})` : "no member"} in /etc/group; ${blindNote}`);
  return result(c, "pass", members.length ? `only allowed members: ${names(members)}` : "no member");
}

function primaryGroup(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.docker-primary-group", title: "Users whose primary group is docker", cis: "1.1.2" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  if (!f.group.exists) {
    return f.group.source === "getent"
      ? result(c, "pass", "there is no docker group")
      : result(c, "unknown", "no docker group in /etc/group, and no getent");
  }
  if (f.group.primary === undefined) return result(c, "unknown", "the list of users could not be read");
  const allowed = ctx.plan.dockerGroup;
  const others = allowed === undefined ? f.group.primary : f.group.primary.filter((u) => !allowed.includes(u));
  if (others.length > 0) {
    const fix = `the program does not change a primary group: usermod -g GROUP ${others[0]}`;
    return allowed === undefined
      ? result(c, "warn", `docker is the primary group of ${names(others)}: they can drive dockerd, as root; ${fix}`)
      : result(c, "fail", `docker is the primary group of ${names(others)}, who are not in security.dockerGroup; ${fix}`);
  }
  return result(c, "pass", f.group.primary.length ? `only allowed users: ${names(f.group.primary)}` : "nobody");
}

function socketFile(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.socket", title: "/var/run/docker.sock: owner root:docker, mode 660 or stricter", cis: "3.15, 3.16" };
  const s = ctx.facts?.stat.socket;
  if (!s || s.owner === "?") return result(c, "unknown", ctx.facts ? "its owner and mode could not be read" : NO_FACTS);
  if (s.owner === "-") return result(c, "pass", "there is no unix socket: nobody on the host reaches dockerd that way");
  const [user, group] = s.owner.split(":");
  if (!modeWithin(s.mode, 0o660)) {
    const who = modeWithin(s.mode, 0o666) ? "any local user" : "more than its owner and group";
    return result(
      c,
      "fail",
      `mode ${s.mode}: ${who} can drive dockerd, as root (chmod 660 ${s.path}; it comes back so when dockerd restarts)`,
    );
  }
  if (user !== "root" || (group !== "docker" && group !== "root")) {
    return result(c, "fail", `owned by ${s.owner} (want root:docker): they can drive dockerd, as root`);
  }
  return result(c, "pass", `${s.owner} ${s.mode}`);
}

function socketUnit(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.socket-unit", title: "docker.socket's SocketMode: 660 or stricter", cis: "3.16" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  if (!f.systemdBooted) return result(c, "pass", "systemd does not run here: docker.socket is never used");
  if (f.socketUnit.load === undefined) return result(c, "unknown", "systemd runs, but there is no systemctl to ask about docker.socket");
  if (f.socketUnit.load !== "loaded") return result(c, "pass", `no docker.socket unit (${f.socketUnit.load})`);
  const mode = (f.socketUnit.mode || "").replace(/^0(?=\d{3}$)/, "");
  if (!mode) return result(c, "unknown", "docker.socket has no SocketMode that systemctl shows");
  if (!modeWithin(mode, 0o660))
    return result(c, "fail", `SocketMode ${f.socketUnit.mode}: the socket it makes lets more than root and the docker group in`);
  return result(c, "pass", `SocketMode ${f.socketUnit.mode}${f.socketUnit.group ? `, SocketGroup ${f.socketUnit.group}` : ""}`);
}

const isTcp = (l: string) => /^tcp:\/\//i.test(l);

function tcpTls(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.tcp-tls", title: "Every TCP listener of dockerd demands a client certificate (tlsverify)", cis: "2.7" };
  const o = ctx.observed;
  if (!o.running) return result(c, "unknown", "dockerd does not run: its listeners are unknown");
  const tcp = (o.listeners || []).filter(isTcp);
  if (tcp.length === 0) return result(c, "pass", "dockerd has no TCP listener");
  if (!o.tlsverify) return result(c, "fail", `${names(tcp)} without tlsverify: whoever reaches it drives dockerd, as root`);
  return result(c, "pass", `tlsverify on for ${names(tcp)}`);
}

function listeners(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.listeners", title: "dockerd listens only where this program put it", cis: "2.7" };
  const o = ctx.observed;
  if (!o.running) return result(c, "unknown", "dockerd does not run: its listeners are unknown");
  const ours = ctx.plan.listeners;
  const extra = (o.listeners || []).filter((l) => !ours.includes(l));
  const sockets =
    ctx.facts?.listen.source === "ss" ? ctx.facts.listen.sockets.filter((s) => s.process === "dockerd" && s.port !== ctx.plan.port) : [];
  const found = [...extra.map((l) => `-H ${l}`), ...sockets.map((s) => `${s.address} (ss)`)];
  if (found.length > 0)
    return result(
      c,
      "fail",
      `dockerd also listens on ${names(found)}, which is not this program's; remove it from its command line or daemon.json`,
    );
  const note = ctx.facts?.listen.source === "ss" ? "" : " (its command line and daemon.json; no ss to see its sockets)";
  return result(c, "pass", `only ${names(ours)}${note}`);
}

function port2375(ctx: Context): SecurityCheck {
  const c: Check = { id: "access.port-2375", title: "Nothing listens on 2375, Docker's plaintext port", cis: "2.7" };
  const f = ctx.facts;
  const own = ctx.plan.port === 2375;
  const flagged = (ctx.observed.running ? ctx.observed.listeners || [] : []).filter((l) => isTcp(l) && /:2375$/.test(l) && !own);
  if (!f) return flagged.length ? result(c, "fail", `dockerd listens on ${names(flagged)}`) : result(c, "unknown", NO_FACTS);
  const sockets = f.listen.sockets.filter((s) => s.port === 2375 && !(own && s.process === "dockerd"));
  if (sockets.length > 0 || flagged.length > 0) {
    const what = [
      ...flagged.map((l) => `dockerd -H ${l}`),
      ...sockets.map((s) => `${s.process === "?" ? "a process" : s.process} on ${s.address}`),
    ];
    return result(c, "fail", `${names([...new Set(what)])}: a plaintext Docker API there would make the mutual TLS pointless; stop it`);
  }
  if (f.listen.source === "-") return result(c, "unknown", "neither ss nor /proc/net/tcp could be read");
  return result(c, "pass", `nothing listens on 2375${f.listen.source === "proc" ? " (from /proc/net/tcp; no ss)" : ""}`);
}

// ---------------------------------------------------------------------------------------------
// Protection: what confines dockerd and its containers

const hasOption = (f: SecurityFacts, name: string) =>
  (f.info?.securityOptions ?? []).find((o) => o === `name=${name}` || o.startsWith(`name=${name},`));

function apparmor(ctx: Context): SecurityCheck {
  const c: Check = { id: "protection.apparmor", title: "AppArmor on the host, used by dockerd", cis: "5.2" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  if (f.apparmor === undefined) return result(c, "unknown", "this host's kernel has no AppArmor (none visible in /sys/module/apparmor)");
  if (f.apparmor !== "Y") return result(c, "warn", "AppArmor is built into the kernel but disabled");
  const profiles = f.apparmorProfiles !== undefined ? ` (${f.apparmorProfiles} profiles loaded)` : "";
  if (!f.info)
    return result(c, "pass", `AppArmor enabled${profiles}; whether dockerd uses it is unknown (${f.infoError ?? "no docker info"})`);
  if (!hasOption(f, "apparmor"))
    return result(c, "warn", `AppArmor enabled${profiles}, but dockerd does not use it (no apparmor in docker info)`);
  return result(c, "pass", `AppArmor enabled${profiles}, used by dockerd`);
}

function selinux(ctx: Context): SecurityCheck {
  const c: Check = { id: "protection.selinux", title: "SELinux on the host, used by dockerd", cis: "5.3" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  if (f.selinux === undefined) return result(c, "unknown", "this host has no SELinux (no /sys/fs/selinux)");
  if (f.selinux !== "1") return result(c, "warn", "SELinux is permissive: it logs and allows");
  if (!f.info) return result(c, "pass", `SELinux enforcing; whether dockerd uses it is unknown (${f.infoError ?? "no docker info"})`);
  if (!hasOption(f, "selinux")) return result(c, "warn", "SELinux enforcing, but dockerd runs without --selinux-enabled");
  return result(c, "pass", "SELinux enforcing, used by dockerd");
}

function seccomp(ctx: Context): SecurityCheck {
  const c: Check = { id: "protection.seccomp", title: "A seccomp profile confines containers by default", cis: "2.17" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  if (f.daemon?.seccompProfile === "unconfined") return result(c, "fail", "dockerd runs with --seccomp-profile unconfined");
  if (!f.info) return result(c, "unknown", `no docker info: ${f.infoError ?? "unknown why"}`);
  const opt = hasOption(f, "seccomp");
  if (!opt) return result(c, "warn", "dockerd reports no seccomp (a kernel without it?)");
  const profile = /profile=([^,]+)/.exec(opt)?.[1] ?? "default";
  if (profile === "unconfined") return result(c, "fail", "dockerd's default seccomp profile is unconfined");
  return result(c, "pass", `seccomp, profile ${profile}`);
}

function userns(ctx: Context): SecurityCheck {
  const c: Check = { id: "protection.userns", title: "Containers' root is not the host's root (userns-remap or rootless)", cis: "2.9" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  const wanted = ctx.plan.daemon.usernsRemap;
  const active = f.info ? (hasOption(f, "userns") ? "userns" : hasOption(f, "rootless") ? "rootless" : "") : undefined;
  const configured = f.daemon?.usernsRemap;
  if (active === undefined && configured === undefined)
    return result(c, "unknown", `dockerd does not run, or no docker info (${f.infoError ?? "unknown why"})`);
  const on = active !== undefined ? active !== "" : configured !== "";
  if (wanted !== undefined && !on) return result(c, "fail", `daemon.usernsRemap ${wanted} is configured, but dockerd runs without it`);
  if (active === "rootless") return result(c, "pass", "dockerd runs rootless");
  if (on)
    return result(
      c,
      "pass",
      `user namespaces remapped${configured ? ` (userns-remap ${configured})` : ""}${active === undefined ? " per daemon.json (no docker info)" : ""}`,
    );
  return result(
    c,
    "warn",
    "root in a container is root on the host: set daemon.usernsRemap (default), where the host has subordinate ids for it",
  );
}

function cgroups(ctx: Context): SecurityCheck {
  const c: Check = { id: "protection.cgroups", title: "cgroups confine containers (version, cgroup namespace)" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  const version = f.info?.cgroupVersion ?? (f.cgroupFs === "cgroup2fs" ? "2" : f.cgroupFs === "tmpfs" ? "1" : undefined);
  if (version === undefined) return result(c, "unknown", "the cgroup version could not be read");
  const ns = f.info
    ? hasOption(f, "cgroupns")
      ? "; containers get a cgroup namespace of their own"
      : "; no cgroup namespace by default"
    : "";
  return result(c, "pass", `cgroup v${version}${ns}`);
}

/** A daemon.json setting of CIS's: pass when dockerd runs with `good`, fail when it contradicts the config, else warn. */
function daemonSetting(
  ctx: Context,
  c: Check,
  fact: "icc" | "noNewPrivileges" | "userlandProxy",
  key: string,
  good: boolean,
  why: string,
): SecurityCheck {
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  if (!f.daemon) return result(c, "unknown", "dockerd does not run: its settings are unknown");
  const actual = f.daemon[fact];
  const wanted = ctx.plan.daemon[fact];
  if (wanted !== undefined && wanted !== actual)
    return result(c, "fail", `daemon.${fact} ${wanted} is configured, but dockerd runs with ${key} ${actual}`);
  if (actual === good) return result(c, "pass", `${key} ${actual}`);
  return result(c, "warn", `${key} ${actual}${wanted !== undefined ? ", as configured" : ""}: ${why}; set daemon.${fact} ${good}`);
}

function liveRestore(ctx: Context): SecurityCheck {
  const c: Check = { id: "protection.live-restore", title: "Containers keep running while dockerd restarts (live-restore)", cis: "2.15" };
  const f = ctx.facts;
  if (!f) return result(c, "unknown", NO_FACTS);
  const on = f.info?.liveRestore ?? f.daemon?.liveRestore;
  if (on === undefined) return result(c, "unknown", "dockerd does not run: its settings are unknown");
  return on
    ? result(c, "pass", "live-restore true")
    : result(c, "warn", "live-restore false: a restart of dockerd stops every container; set daemon.liveRestore true");
}

// ---------------------------------------------------------------------------------------------
// Files: CIS section 3

function fileCheck(ctx: Context, c: Check, key: string, max: number, required: boolean): SecurityCheck {
  const s: StatFact | undefined = ctx.facts?.stat[key];
  if (!s || s.owner === "?") return result(c, "unknown", ctx.facts ? "its owner and mode could not be read" : NO_FACTS);
  if (s.owner === "-") {
    if (required) return result(c, "fail", `${s.path} is missing`);
    return result(c, "pass", s.path === "-" ? "no such unit file" : `${s.path} does not exist`);
  }
  const problems: string[] = [];
  if (s.owner !== "root:root") problems.push(`owned by ${s.owner} (want root:root)`);
  if (!modeWithin(s.mode, max)) problems.push(`mode ${s.mode} (want ${max.toString(8)} or stricter)`);
  if (problems.length) return result(c, "fail", `${s.path}: ${problems.join(", ")}`);
  return result(c, "pass", `${s.path}: ${s.owner} ${s.mode}`);
}

// ---------------------------------------------------------------------------------------------
// TLS as served, from the machine running Pulumi

function clientAuth(ctx: Context): SecurityCheck {
  const c: Check = { id: "tls.client-auth", title: "The TLS port refuses a client without a certificate", cis: "2.7" };
  const o = ctx.observed;
  if (!o.serverCertSha256) return result(c, "unknown", `port ${ctx.plan.port} serves no TLS (${o.endpoint || "no answer"})`);
  if (!o.requireClientCert)
    return result(c, "fail", `port ${ctx.plan.port} answers a client without a certificate (${o.endpoint || "no detail"})`);
  return result(c, "pass", `port ${ctx.plan.port} demands a client certificate`);
}

function versions(ctx: Context): SecurityCheck {
  const c: Check = { id: "tls.versions", title: "TLS 1.0 and 1.1 are refused" };
  const t = ctx.facts?.tls;
  if (!t) return result(c, "unknown", ctx.facts ? "the TLS port was not probed" : NO_FACTS);
  const tried = Object.entries(t.versions);
  const accepted = tried.filter(([, r]) => r === "accepted").map(([v]) => v);
  const unknown = tried.filter(([, r]) => r === "unknown").map(([v]) => v);
  if (accepted.length) return result(c, "fail", `port ${ctx.plan.port} accepts ${names(accepted)}`);
  if (unknown.length || tried.length === 0)
    return result(
      c,
      "unknown",
      `${names(unknown) || "TLS 1.0 and 1.1"} could not be tried from this machine (its TLS library cannot offer it, or no answer)`,
    );
  return result(c, "pass", `refuses ${names(tried.map(([v]) => v))}${t.protocol ? `; a current client gets ${t.protocol}` : ""}`);
}

function certKey(ctx: Context): SecurityCheck {
  const c: Check = { id: "tls.key", title: "The served certificate's key type and size" };
  const t = ctx.facts?.tls;
  if (!t || !t.keyType || t.keyBits === undefined) return result(c, "unknown", "no certificate was served to read");
  const what = `${t.keyType}${t.curve ? ` ${t.curve}` : ""}, ${t.keyBits} bits`;
  const min = t.keyType === "RSA" ? 2048 : 256;
  if (t.keyBits < min) return result(c, "fail", `${what}: weaker than ${t.keyType} ${min}; set pki.algorithm and rotate (npm run rotate)`);
  return result(c, "pass", what);
}

function certExpiry(ctx: Context): SecurityCheck {
  const c: Check = { id: "tls.expiry", title: "Days left on the served certificate" };
  const t = ctx.facts?.tls;
  const at = ctx.facts?.inspectedAt;
  if (!t || !t.notAfter || !at) return result(c, "unknown", "no certificate was served to read");
  const days = Math.floor((Date.parse(t.notAfter) - Date.parse(at)) / 86_400_000);
  if (!Number.isFinite(days)) return result(c, "unknown", `cannot read its expiry (${t.notAfter})`);
  if (days < 0) return result(c, "fail", `expired ${t.notAfter}; run pulumi up (or npm run rotate) to reissue it`);
  if (days < CERT_WARN_DAYS)
    return result(c, "warn", `expires ${t.notAfter}, in ${days} days; the next pulumi up inside pki.renewBeforeHours reissues it`);
  return result(c, "pass", `expires ${t.notAfter}, in ${days} days`);
}

/** Every check of a host that could be inspected, in order. */
export function securityChecks(plan: SecurityPlan, observed: Observed): SecurityCheck[] {
  const ctx: Context = { plan, observed, facts: observed.security };
  const file = (id: string, title: string, cis: string, key: string, max: number, required = false) =>
    fileCheck(ctx, { id: `files.${id}`, title, cis }, key, max, required);
  return [
    dockerGroup(ctx),
    primaryGroup(ctx),
    socketFile(ctx),
    socketUnit(ctx),
    tcpTls(ctx),
    listeners(ctx),
    port2375(ctx),
    apparmor(ctx),
    selinux(ctx),
    seccomp(ctx),
    userns(ctx),
    cgroups(ctx),
    liveRestore(ctx),
    daemonSetting(
      ctx,
      { id: "protection.icc", title: "No traffic between containers on the default bridge (icc false)", cis: "2.2" },
      "icc",
      "icc",
      false,
      "containers on the default bridge reach each other",
    ),
    daemonSetting(
      ctx,
      { id: "protection.userland-proxy", title: "Published ports without the userland proxy", cis: "2.16" },
      "userlandProxy",
      "userland-proxy",
      false,
      "a docker-proxy process per published port, where iptables would do",
    ),
    daemonSetting(
      ctx,
      { id: "protection.no-new-privileges", title: "Containers cannot gain privileges (no-new-privileges)", cis: "2.14" },
      "noNewPrivileges",
      "no-new-privileges",
      true,
      "a setuid binary in a container can gain privileges",
    ),
    file("docker-service", "docker.service: root:root, 644 or stricter", "3.1, 3.2", "service", 0o644),
    file("docker-socket", "docker.socket: root:root, 644 or stricter", "3.3, 3.4", "socketunit", 0o644),
    file("etc-docker", "/etc/docker: root:root, 755 or stricter", "3.5, 3.6", "etcdocker", 0o755, true),
    file("daemon-json", "daemon.json: root:root, 644 or stricter", "3.17, 3.18", "daemonjson", 0o644),
    file("default-docker", "/etc/default/docker: root:root, 644 or stricter", "3.19, 3.20", "defaultdocker", 0o644),
    file("tls-ca", "TLS CA certificate (ca.pem): root:root, 444 or stricter", "3.9, 3.10", "tlsca", 0o444, true),
    file("tls-cert", "Server certificate: root:root, 444 or stricter", "3.11, 3.12", "tlscert", 0o444, true),
    file("tls-key", "Server key: root:root, 400", "3.13, 3.14", "tlskey", 0o400, true),
    clientAuth(ctx),
    versions(ctx),
    certKey(ctx),
    certExpiry(ctx),
  ];
}

/** The counts and failing checks of `checks`. */
export function summarize(checks: SecurityCheck[]): HostSecurity {
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return {
    pass: count("pass"),
    warn: count("warn"),
    fail: count("fail"),
    unknown: count("unknown"),
    failing: checks.filter((c) => c.status === "fail"),
    checks,
  };
}

/** A host's security from its audit's last observation: the checks, or why there are none. */
export function hostSecurity(plan: SecurityPlan, observed: Observed | undefined): HostSecurity {
  if (!observed || observed.reachable === false) {
    return { ...summarize([]), error: (observed && observed.error) || "not inspected" };
  }
  return summarize(securityChecks(plan, observed));
}

/** One line per failing check, for pulumi.log.warn: `host web1: security check access.socket failed (CIS 3.15, 3.16): …`. */
export function failingWarnings(host: string, s: HostSecurity): string[] {
  return s.failing.map((c) => `host ${host}: security check ${c.id} failed${c.cis ? ` (CIS ${c.cis})` : ""}: ${c.reason}`);
}
