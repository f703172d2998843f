/**
 * The security audit's facts about a host: what render/sh/security.sh prints, parsed, and what
 * components/audit/inspect.ts adds from dockerd's command line and daemon.json and from a TLS client
 * on this machine. Facts only: components/security/checks.ts judges them.
 *
 * Parsed in the dynamic-provider process, captured by value in the provider's serialized closure
 * (see ./provider.ts): these functions use nothing but each other and JavaScript's globals.
 */

/** Owner, mode and kind of a file the audit looks at; `-` for each when it is absent, `?` when unknown. */
export interface StatFact {
  /** `user:group`, `-` (absent) or `?` (unknown). */
  owner: string;
  /** Octal, as `stat -c %a` prints it (`660`). */
  mode: string;
  /** socket, directory, file, other; `-` or `?`. */
  kind: string;
  /** Where it was looked for; `-` when nowhere (no unit file found), `?` when unknown. */
  path: string;
}

/** A listening TCP socket. */
export interface ListenFact {
  /** `0.0.0.0:2376`, `[::]:2376`, `?:2376` (from /proc: no address). */
  address: string;
  port: number;
  /** The process that listens (`dockerd`), `?` when unknown. */
  process: string;
}

/** What `docker info` says of the daemon's protection (its JSON, the fields the checks read). */
export interface DockerInfoFacts {
  /** `name=seccomp,profile=builtin`, `name=apparmor`, `name=userns`, `name=rootless`, `name=cgroupns`, … */
  securityOptions: string[];
  /** `1` or `2`; undefined for a daemon too old to say. */
  cgroupVersion?: string;
  liveRestore?: boolean;
  serverVersion?: string;
}

/** dockerd's effective security settings: its flags, then its daemon.json, then dockerd's defaults. */
export interface DaemonSecurityFacts {
  icc: boolean;
  noNewPrivileges: boolean;
  userlandProxy: boolean;
  /** `default`, `USER[:GROUP]`, "" for none. */
  usernsRemap: string;
  liveRestore: boolean;
  /** `--seccomp-profile`, "" for the default. */
  seccompProfile: string;
}

/** How a TLS version fared against the daemon's port, from this machine. */
export type TlsVersionResult = "accepted" | "refused" | "unknown";

/** The TLS that the daemon's port serves, seen from the machine running Pulumi. */
export interface TlsFacts {
  /** TLSv1 and TLSv1.1 offered alone: accepted, refused, or unknown (this machine could not offer it, or no answer). */
  versions: Record<string, TlsVersionResult>;
  /** The version a modern client negotiated (`TLSv1.3`). */
  protocol?: string;
  /** The served certificate's key: `EC` (with its curve) or `RSA`, and its size in bits. */
  keyType?: string;
  keyBits?: number;
  curve?: string;
  /** The served certificate's expiry (RFC 3339). */
  notAfter?: string;
}

/** Everything the security audit knows of a host. */
export interface SecurityFacts {
  /** Whether the host has each optional tool (systemctl, ss, getent, docker, timeout). */
  tools: Record<string, boolean>;
  /** systemd is PID 1 (/run/systemd/system exists). */
  systemdBooted: boolean;
  group: {
    /** There is a docker group. */
    exists: boolean;
    gid?: string;
    /** Its members (NSS through getent where there is one, else /etc/group): `source`. */
    members: string[];
    source: string;
    /** Its members in the local /etc/group. */
    local: string[];
    /** Users whose primary group it is; undefined when that could not be read. */
    primary?: string[];
  };
  /** Per name: socket, service, socketunit, etcdocker, daemonjson, defaultdocker, tlsca, tlscert, tlskey. */
  stat: Record<string, StatFact>;
  /** docker.socket as systemd has it; `load` undefined: unknown (no systemctl). */
  socketUnit: { load?: string; mode?: string; group?: string };
  /** Listening TCP sockets: from ss (with processes), /proc (ports only) or nowhere (`-`). */
  listen: { source: string; sockets: ListenFact[] };
  /** `Y`, `N`, or undefined when the kernel has no AppArmor. */
  apparmor?: string;
  apparmorProfiles?: number;
  /** `1` enforcing, `0` permissive, undefined when there is no SELinux. */
  selinux?: string;
  /** The file system type of /sys/fs/cgroup (cgroup2fs: cgroup v2), undefined when unknown. */
  cgroupFs?: string;
  /** `docker info`; undefined with `infoError` when it could not be had. */
  info?: DockerInfoFacts;
  infoError?: string;
  /** dockerd's effective settings (components/audit/inspect.ts); undefined when dockerd does not run. */
  daemon?: DaemonSecurityFacts;
  /** The TLS served on the daemon's port (components/audit/inspect.ts). */
  tls?: TlsFacts;
  /** When the host was inspected (RFC 3339, this machine's clock): days left are counted from it. */
  inspectedAt?: string;
  /** Why the security script stopped early, if it did (its facts are then partial). */
  error?: string;
}

const list = (v: string | undefined) =>
  (v || "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .sort();

/** The fields of `docker info`'s JSON that the checks read; undefined when it is not an object. */
export function dockerInfoFacts(json: string): DockerInfoFacts | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const out: DockerInfoFacts = {
    securityOptions: Array.isArray(o.SecurityOptions) ? o.SecurityOptions.map(String) : [],
  };
  if (o.CgroupVersion !== undefined && o.CgroupVersion !== "") out.cgroupVersion = String(o.CgroupVersion);
  if (typeof o.LiveRestoreEnabled === "boolean") out.liveRestore = o.LiveRestoreEnabled;
  if (typeof o.ServerVersion === "string") out.serverVersion = o.ServerVersion;
  return out;
}

/** Parses render/sh/security.sh's output (lines of other scripts are ignored). */
export function parseSecurity(stdout: string): SecurityFacts {
  const facts: SecurityFacts = {
    tools: {},
    systemdBooted: false,
    group: { exists: false, members: [], source: "?", local: [] },
    stat: {},
    socketUnit: {},
    listen: { source: "-", sockets: [] },
  };
  for (const line of stdout.split("\n")) {
    const space = line.indexOf(" ");
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? "" : line.slice(space + 1);
    const words = value.split(" ");
    if (key.startsWith("tool.")) facts.tools[key.slice(5)] = value === "yes";
    else if (key === "systemd.booted") facts.systemdBooted = value === "yes";
    else if (key === "group.gid") {
      facts.group.exists = value !== "-" && value !== "";
      if (facts.group.exists) facts.group.gid = value;
    } else if (key === "group.members") facts.group.members = list(value);
    else if (key === "group.source") facts.group.source = value;
    else if (key === "group.local") facts.group.local = list(value);
    else if (key === "group.primary") {
      if (value === "?") delete facts.group.primary;
      else facts.group.primary = list(value);
    } else if (key.startsWith("stat.") && words.length >= 4) {
      facts.stat[key.slice(5)] = { owner: words[0], mode: words[1], kind: words[2], path: words.slice(3).join(" ") };
    } else if (key === "socketunit.load") {
      if (value !== "?") facts.socketUnit.load = value;
    } else if (key === "socketunit.mode") facts.socketUnit.mode = value;
    else if (key === "socketunit.group") facts.socketUnit.group = value;
    else if (key === "listen.source") facts.listen.source = value;
    else if (key === "listen.tcp" && words.length >= 2) {
      const address = words[0];
      const port = Number(address.slice(address.lastIndexOf(":") + 1));
      if (Number.isInteger(port)) facts.listen.sockets.push({ address, port, process: words.slice(1).join(" ") || "?" });
    } else if (key === "apparmor.enabled") {
      if (value !== "-" && value !== "") facts.apparmor = value;
    } else if (key === "apparmor.profiles") {
      if (/^\d+$/.test(value)) facts.apparmorProfiles = Number(value);
    } else if (key === "selinux.enforce") {
      if (value !== "-" && value !== "") facts.selinux = value;
    } else if (key === "cgroup.fs") {
      if (value !== "-" && value !== "") facts.cgroupFs = value;
    } else if (key === "info" && value !== "-" && value !== "") {
      const info = dockerInfoFacts(Buffer.from(value, "base64").toString("utf8"));
      if (info) facts.info = info;
      else facts.infoError = "docker info did not print a JSON object";
    } else if (key === "info.error") facts.infoError = value;
    else if (key === "security.error") facts.error = `the security script failed (${value})`;
  }
  return facts;
}
