import { createHmac } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import {
  CHECK_CLIENT,
  ConfigError,
  DAEMON_DEFAULTS,
  PKI_DEFAULTS,
  addressKey,
  defaultWarnBeforeHours,
  findHostKey,
  parseConfig,
  pkiSettings,
} from "../../config";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const files: Record<string, string> = { "/keys/id": KEY };
const readFile = (p: string) => {
  if (p in files) return files[p];
  throw new Error("ENOENT: no such file");
};

// Shaped like a real line (the provider parses it; these tests only need the type and the shape).
const PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPin";

type Raw = Record<string, unknown> & { hosts: Record<string, unknown>[] };
const base = (): Raw => ({
  sshPrivateKeyPath: "/keys/id",
  hosts: [
    { name: "web1", address: "10.0.0.1", hostKey: PIN },
    { name: "web2", address: "web2.example.com", user: "deploy", init: "sysv", hostKey: PIN },
  ],
  clients: [{ name: "ci" }],
});
/** base() without the hosts' pins: for known_hosts files, and the rules about unpinned hosts. */
const unpinned = (): Raw => {
  const raw = base();
  for (const h of raw.hosts) delete h.hostKey;
  return raw;
};

/** The problems parseConfig reports for `raw`. */
function problems(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw, readFile);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("parseConfig", () => {
  test("applies the defaults", () => {
    const c = parseConfig(base(), readFile);
    expect(c.hosts[0]).toMatchObject({ user: "root", port: 22, sudo: false, init: "systemd" });
    expect(c.hosts[1]).toMatchObject({ user: "deploy", sudo: true, init: "sysv" });
    // config.ts states the defaults once (defaults.test.ts holds the docs to them); here: they are
    // what an unset daemon or pki gets, and a few of them are the values users rely on.
    expect(c.hosts[0].daemon).toEqual(DAEMON_DEFAULTS);
    expect(c.pki).toEqual(PKI_DEFAULTS);
    const { bindAddress, port, keepUnixSocket, extra } = c.hosts[0].daemon;
    expect([bindAddress, port, keepUnixSocket, extra, c.pki.algorithm]).toEqual(["0.0.0.0", 2376, true, {}, "ECDSA-P256"]);
    expect(c.sshKey).toEqual({ fromSecret: false, content: KEY });
  });

  test("per-host daemon settings override the stack's", () => {
    const raw = { ...base(), daemon: { logLevel: "warn", extra: { a: 1 } } };
    raw.hosts[0] = { ...raw.hosts[0], daemon: { logLevel: "debug", extra: { b: 2 } } };
    const c = parseConfig(raw, readFile);
    expect(c.hosts[0].daemon.logLevel).toBe("debug");
    expect(c.hosts[0].daemon.extra).toEqual({ a: 1, b: 2 });
    expect(c.hosts[1].daemon.logLevel).toBe("warn");
  });

  test("an invalid address names the field and the host", () => {
    const raw = base();
    raw.hosts.push({ name: "web3", address: "10.0.0.999", hostKey: PIN });
    expect(problems(raw)).toEqual(['hosts[2] (web3).address: "10.0.0.999" is not an IP address or DNS name']);
  });

  test("duplicate host names", () => {
    const raw = base();
    raw.hosts[1].name = "web1";
    expect(problems(raw)).toEqual(['hosts[1] (web1).name: "web1" is used twice']);
  });

  test("one address twice: an error on the second host, naming the first, however it is spelled", () => {
    const twice = (first: string, second: string) => {
      const raw = base();
      raw.hosts[0].address = first;
      raw.hosts[1].address = second;
      return problems(raw);
    };
    expect(twice("10.0.0.1", "10.0.0.1")).toEqual([
      'hosts[1] (web2).address: "10.0.0.1" is already the address of hosts[0] (web1): one machine cannot be two hosts',
    ]);
    expect(twice("web1.example.com", "WEB1.Example.com.")).toEqual([
      'hosts[1] (web2).address: "WEB1.Example.com." is already the address of hosts[0] (web1) (as "web1.example.com"): one machine cannot be two hosts',
    ]);
    expect(twice("::1", "0:0::1")).toHaveLength(1);
    expect(twice("10.0.0.1", "::ffff:a00:1")).toHaveLength(1);
    expect(twice("10.0.0.1", "10.0.0.2")).toEqual([]);
    expect(twice("2001:db8::1", "2001:db8::2")).toEqual([]);
  });

  test("addressKey: one key per host, whatever the spelling", () => {
    const same = [
      ["Web1.EXAMPLE.com.", "web1.example.com"],
      ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
      ["::ffff:10.0.0.1", "10.0.0.1"],
      ["::FFFF:a00:1", "10.0.0.1"],
      ["0:0:0:0:0:0:0:0", "::"],
    ];
    expect(same.map(([a]) => addressKey(a))).toEqual(same.map(([, key]) => key));
    // An IPv4-compatible address (deprecated) or one of the NAT64 prefix is another address.
    expect([addressKey("::10.0.0.1"), addressKey("64:ff9b::10.0.0.1")]).toEqual(["::a00:1", "64:ff9b::a00:1"]);
  });

  test("an IPv6 zone id is refused wherever an address goes", () => {
    const raw = { ...base(), daemon: { bindAddress: "fe80::1%eth0", dns: ["fe80::53%2"] } };
    raw.hosts[0] = { ...raw.hosts[0], address: "fe80::10%eth0", ipAddresses: ["fe80::11%25eth0"] };
    const zone = (at: string, value: string, id: string) =>
      `${at}: ${JSON.stringify(value)} has an IPv6 zone id (${id}), which neither a certificate SAN nor a tcp:// URL ` +
      "(DOCKER_HOST, dockerd's hosts) can carry; use a global or unique-local address, or a DNS name";
    expect(problems(raw)).toEqual([
      zone("hosts[0] (web1).address", "fe80::10%eth0", "%eth0"),
      zone("hosts[0] (web1).ipAddresses[0]", "fe80::11%25eth0", "%25eth0"),
      zone("daemon.bindAddress", "fe80::1%eth0", "%eth0"),
      zone("daemon.dns[0]", "fe80::53%2", "%2"),
    ]);
  });

  test("duplicate client names", () => {
    expect(problems({ ...base(), clients: [{ name: "ci" }, { name: "ci" }] })).toEqual(['clients[1] (ci).name: "ci" is used twice']);
  });

  test("the endpoint checks' client name is reserved", () => {
    expect(problems({ ...base(), clients: [{ name: "ci" }, { name: CHECK_CLIENT }] })).toEqual([
      `clients[1] (docker-tls-check).name: "docker-tls-check" is reserved for the program's own endpoint checks`,
    ]);
  });

  test("a ConfigError is a pulumi.RunError whose message lists every problem", () => {
    const raw = base();
    raw.hosts[0].address = "10.0.0.999";
    raw.hosts[1].port = 0;
    let error: unknown;
    try {
      parseConfig(raw, readFile);
    } catch (e) {
      error = e;
    }
    // The Node SDK prints a RunError's message alone, without a stack: see test/unit/validation.test.ts.
    expect(error).toBeInstanceOf(ConfigError);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect((error as ConfigError).message).toBe(
      [
        "invalid docker-tls configuration:",
        '  - hosts[0] (web1).address: "10.0.0.999" is not an IP address or DNS name',
        "  - hosts[1] (web2).port: 0 is out of range (1-65535)",
      ].join("\n"),
    );
  });

  test("an unknown init kind", () => {
    const raw = base();
    raw.hosts[0].init = "upstart";
    expect(problems(raw)).toEqual(['hosts[0] (web1).init: "upstart" is not an init kind (systemd, sysv, custom)']);
  });

  test("init custom needs a restart command", () => {
    const raw = base();
    raw.hosts[0].init = "custom";
    expect(problems(raw)).toEqual(["hosts[0] (web1).restartCommand: is required with init: custom"]);
  });

  describe("restartCommand", () => {
    const custom = (restartCommand: string) => {
      const raw = base();
      raw.hosts[0] = { ...raw.hosts[0], init: "custom", restartCommand };
      return raw;
    };

    test.each([
      "systemctl restart docker # the unit is called docker here",
      `rc-service docker restart; echo 'restarted "docker"'`,
      "pkill -HUP dockerd || { sleep 1; /etc/init.d/docker restart; }",
      "if [ -x /etc/init.d/docker ]; then\n  /etc/init.d/docker restart\nfi",
    ])("any sh is accepted, lines and trailing comments included: %s", (command) => {
      expect(parseConfig(custom(command), readFile).hosts[0].restartCommand).toBe(command);
    });

    test("a syntax error is a config error naming the host, in sh's words", () => {
      expect(problems(custom("service docker restart 'now"))).toEqual([
        expect.stringMatching(/^hosts\[0\] \(web1\)\.restartCommand: is not valid sh: \S.*$/),
      ]);
      expect(problems(custom("if true; then service docker restart"))).toHaveLength(1);
    });

    test("an empty command and a NUL character are refused", () => {
      for (const blank of ["", "  "])
        expect(problems(custom(blank))).toEqual(["hosts[0] (web1).restartCommand: is empty: it would restart nothing"]);
      expect(problems(custom("service docker restart\0rm -rf /"))).toEqual([
        "hosts[0] (web1).restartCommand: contains a NUL character, which no command line can carry",
      ]);
    });
  });

  test("ports out of range, for SSH and for the daemon", () => {
    const raw = { ...base(), daemon: { port: 0 } };
    raw.hosts[1].port = 70000;
    expect(problems(raw)).toEqual(["hosts[1] (web2).port: 70000 is out of range (1-65535)", "daemon.port: 0 is out of range (1-65535)"]);
  });

  test("leaf validity shorter than the renew-before window", () => {
    expect(problems({ ...base(), pki: { leafValidityHours: 500, renewBeforeHours: 720 } })).toEqual([
      "pki.leafValidityHours: 500 must be longer than pki.renewBeforeHours (720), or every run would reissue",
    ]);
  });

  test("leaf validity as long as the CA's or longer: a certificate cannot outlive its issuer", () => {
    const problem = (leaf: number, ca: number) =>
      `pki.leafValidityHours: ${leaf} must be shorter than pki.caValidityHours (${ca}): a certificate cannot outlive its issuer`;
    expect(problems({ ...base(), pki: { caValidityHours: 4000 } })).toEqual([problem(8760, 4000)]);
    expect(problems({ ...base(), pki: { caValidityHours: 8760 } })).toEqual([problem(8760, 8760)]);
    expect(problems({ ...base(), pki: { caValidityHours: 8761 } })).toEqual([]);
  });

  test("the warning window: 60 days by default, 30 days' notice before the renew-before window", () => {
    expect(PKI_DEFAULTS).toMatchObject({ renewBeforeHours: 720, warnBeforeHours: 1440 });
    expect(parseConfig({ ...base(), pki: { warnBeforeHours: 2000 } }, readFile).pki.warnBeforeHours).toBe(2000);
  });

  test("an unset warning window follows the renew-before window and the leaves' validity, so that no stack valid before it is refused", () => {
    const warnOf = (pki: Record<string, number>) => parseConfig({ ...base(), pki }, readFile).pki.warnBeforeHours;
    // A long renew-before window: still 30 days' notice.
    expect(warnOf({ renewBeforeHours: 2000 })).toBe(2720);
    // Short leaves: half-way from the renew-before window to the leaves' validity.
    expect(warnOf({ leafValidityHours: 1000 })).toBe(860);
    expect(warnOf({ leafValidityHours: 722 })).toBe(721);
    // No whole hour between the two: the hour after the renew-before window.
    expect(warnOf({ leafValidityHours: 721 })).toBe(721);
    expect(defaultWarnBeforeHours({ renewBeforeHours: 24, leafValidityHours: 8760 })).toBe(744);
  });

  test("a warning window inside the renew-before window names both settings", () => {
    expect(problems({ ...base(), pki: { warnBeforeHours: 720 } })).toEqual([
      "pki.warnBeforeHours: 720 must be larger than pki.renewBeforeHours (720), or a certificate would be reissued before it is warned about",
    ]);
    expect(problems({ ...base(), pki: { warnBeforeHours: 100, renewBeforeHours: 200 } })).toEqual([
      "pki.warnBeforeHours: 100 must be larger than pki.renewBeforeHours (200), or a certificate would be reissued before it is warned about",
    ]);
    expect(problems({ ...base(), pki: { warnBeforeHours: 721 } })).toEqual([]);
  });

  test("a warning window as long as a leaf's life is allowed, and warned about on every run", () => {
    const warningsOf = (pki: Record<string, number>) => parseConfig({ ...base(), pki }, readFile).warnings;
    expect(warningsOf({ warnBeforeHours: 8760 })).toEqual([
      "pki.warnBeforeHours (8760) is not shorter than pki.leafValidityHours (8760): every server and client certificate is warned about on every run from the day it is issued",
    ]);
    expect(warningsOf({ leafValidityHours: 24, renewBeforeHours: 1, warnBeforeHours: 48, caValidityHours: 25 })).toHaveLength(1);
    expect(warningsOf({ warnBeforeHours: 8759 })).toEqual([]);
    // Never by default, however short the leaves.
    expect(warningsOf({ leafValidityHours: 721 })).toEqual([]);
  });

  test("a warning window that is not a positive whole number of hours", () => {
    // Typed, so also held to the rules that compare fields, as leafValidityHours is.
    expect(problems({ ...base(), pki: { warnBeforeHours: 0 } })).toEqual([
      "pki.warnBeforeHours: 0 must be a positive whole number of hours",
      "pki.warnBeforeHours: 0 must be larger than pki.renewBeforeHours (720), or a certificate would be reissued before it is warned about",
    ]);
    expect(problems({ ...base(), pki: { warnBeforeHours: "1440" } })).toEqual(['pki.warnBeforeHours: "1440" is a string, not a number']);
    expect(problems({ ...base(), pki: { warnBeforeHours: 1440.5 } })).toHaveLength(1);
  });

  test("the PKI settings of a stack's pki value, for the scripts: its defaults applied; the defaults when unset or invalid", () => {
    expect(pkiSettings(undefined)).toEqual(PKI_DEFAULTS);
    expect(pkiSettings({ renewBeforeHours: 2000 })).toEqual({ ...PKI_DEFAULTS, renewBeforeHours: 2000, warnBeforeHours: 2720 });
    expect(pkiSettings({ warnBeforeHours: 2000 })).toEqual({ ...PKI_DEFAULTS, warnBeforeHours: 2000 });
    expect(pkiSettings({ warnBeforeHours: "soon" })).toEqual(PKI_DEFAULTS);
    expect(pkiSettings("not an object")).toEqual(PKI_DEFAULTS);
  });

  test("a user name longer than Linux allows", () => {
    const raw = base();
    raw.hosts[0].user = "a".repeat(32);
    raw.hosts[1].user = "b".repeat(33);
    expect(problems(raw)).toEqual([
      `hosts[1] (web2).user: "${"b".repeat(33)}" is longer than 32 characters, the limit of Linux user names`,
    ]);
  });

  test("a missing SSH key", () => {
    const raw = base();
    delete raw.sshPrivateKeyPath;
    expect(problems(raw)).toEqual([
      "sshPrivateKey: no SSH key: set the secret docker-tls:sshPrivateKey (pulumi config set --secret) or docker-tls:sshPrivateKeyPath",
    ]);
  });

  test("an unreadable SSH key file", () => {
    expect(problems({ ...base(), sshPrivateKeyPath: "/keys/nope" })).toEqual([
      'sshPrivateKeyPath: cannot read "/keys/nope": ENOENT: no such file',
    ]);
  });

  test("a listener without TLS (or other TLS files) in extra daemon keys", () => {
    const raw = base();
    raw.hosts[0].daemon = { extra: { hosts: ["tcp://0.0.0.0:2375"], tlsverify: false } };
    expect(problems(raw)).toEqual([
      "hosts[0] (web1).daemon.extra.hosts: is managed by this program (a listener without TLS, or other TLS files, would defeat it); remove it",
      "hosts[0] (web1).daemon.extra.tlsverify: is managed by this program (a listener without TLS, or other TLS files, would defeat it); remove it",
    ]);
  });

  test("a managed key in extra is refused in any spelling dockerd reads as it", () => {
    const raw = { ...base(), daemon: { extra: { TLSVerify: false, "live-restore": false } } };
    raw.hosts[1].daemon = { extra: { Hosts: ["tcp://0.0.0.0:2375"], "tlsverify ": false, "log-driver": "journald" } };
    const managed = "(a listener without TLS, or other TLS files, would defeat it); remove it";
    expect(problems(raw)).toEqual([
      `hosts[1] (web2).daemon.extra.Hosts: is managed by this program as "hosts" (dockerd matches daemon.json keys regardless of case) ${managed}`,
      `hosts[1] (web2).daemon.extra["tlsverify "]: is managed by this program as "tlsverify" (dockerd matches daemon.json keys regardless of case) ${managed}`,
      `daemon.extra.TLSVerify: is managed by this program as "tlsverify" (dockerd matches daemon.json keys regardless of case) ${managed}`,
    ]);
  });

  test("extra keys that typed settings write: held to the setting's rules, in its spelling only", () => {
    const raw = { ...base(), daemon: { extra: { "log-level": "verbose", dns: ["not-an-ip"], debug: "yes", "Registry-Mirrors": [] } } };
    raw.hosts[0].daemon = { extra: { "live-restore": 1, "registry-mirrors": ["mirror.example"], "insecure-registries": [""] } };
    expect(problems(raw)).toEqual([
      "hosts[0] (web1).daemon.extra.live-restore: 1 is a number, not a boolean (true or false)",
      'hosts[0] (web1).daemon.extra.registry-mirrors[0]: "mirror.example" is not a URL',
      expect.stringMatching(/^hosts\[0\] \(web1\)\.daemon\.extra\.insecure-registries\[0\]: /),
      'daemon.extra.log-level: "verbose" is not a log level (debug, info, warn, error, fatal)',
      'daemon.extra.dns[0]: "not-an-ip" is not an IP address',
      'daemon.extra.debug: "yes" is a string, not a boolean (true or false)',
      'daemon.extra.Registry-Mirrors: is read by dockerd as "registry-mirrors" (dockerd matches daemon.json keys regardless of case); set daemon.registryMirrors instead',
    ]);
    const good = { ...base(), daemon: { extra: { "log-level": "warn", dns: ["10.0.0.53"] } } };
    expect(parseConfig(good, readFile).hosts[1].daemon.extra).toEqual({ "log-level": "warn", dns: ["10.0.0.53"] });
  });

  test("a typed setting and its extra twin for one host: an error naming both, wherever each is set", () => {
    const raw = { ...base(), daemon: { logLevel: "warn", extra: { "log-level": "debug", debug: true } } };
    raw.hosts[0].daemon = { debug: false, extra: { dns: ["10.0.0.53"] } };
    raw.hosts[1].daemon = { dns: ["10.0.0.54"], extra: { "log-level": "error" } };
    expect(problems(raw)).toEqual([
      "daemon.extra.log-level: is what daemon.logLevel writes, and daemon.logLevel is set too; set daemon.logLevel only",
      "daemon.extra.debug: is what daemon.debug writes, and hosts[0] (web1).daemon.debug is set too; set daemon.debug only",
      "hosts[1] (web2).daemon.extra.log-level: is what daemon.logLevel writes, and daemon.logLevel is set too; set daemon.logLevel only",
    ]);
  });

  test("insecure registries in extra are warned about like the typed setting", () => {
    const raw = base();
    raw.hosts[1].daemon = { extra: { "insecure-registries": ["registry.lan:5000"] } };
    expect(parseConfig(raw, readFile).warnings).toEqual(["host web2: insecure-registries registry.lan:5000 are reached without TLS"]);
  });

  test("unknown keys, bad names, bad SANs and log levels are reported together", () => {
    const raw = {
      ...base(),
      hosts: [
        {
          name: "Web_1",
          address: "10.0.0.1",
          dnsNames: ["not a name"],
          ipAddresses: ["1.2.3"],
          daemon: { logLevel: "loud" },
          colour: "red",
        },
      ],
    };
    expect(problems(raw)).toEqual([
      'hosts[0] (Web_1).name: "Web_1" is not a valid host name (lowercase letters, digits and inner hyphens, at most 63)',
      'hosts[0] (Web_1).dnsNames[0]: "not a name" is not a DNS name',
      'hosts[0] (Web_1).ipAddresses[0]: "1.2.3" is not an IP address',
      expect.stringMatching(/^hosts\[0\] \(Web_1\)\.daemon\.logLevel: /),
      'hosts[0] (Web_1): unknown key(s) "colour"',
    ]);
  });

  test("a value of the wrong type is named with its type, a missing key is required", () => {
    const raw: Raw = {
      ...base(),
      pki: { caValidityHours: "87600" },
      daemon: { extra: ["debug"], dns: null },
      hosts: [
        { name: "web1", address: "10.0.0.1", port: "22", sudo: "yes", dnsNames: "a.example", daemon: "debug" },
        { address: "10.0.0.2" },
        "web3" as unknown as Record<string, unknown>,
      ],
    };
    expect(problems(raw)).toEqual([
      'hosts[0] (web1).dnsNames: "a.example" is a string, not a list',
      'hosts[0] (web1).port: "22" is a string, not a number',
      'hosts[0] (web1).sudo: "yes" is a string, not a boolean (true or false)',
      'hosts[0] (web1).daemon: "debug" is a string, not an object',
      "hosts[1].name: is required",
      'hosts[2]: "web3" is a string, not an object',
      'pki.caValidityHours: "87600" is a string, not a number',
      "daemon.dns: is null, not a list",
      "daemon.extra: is a list, not an object",
    ]);
  });

  test("a host named unlike a name is quoted in the path, so that it cannot pass for more of it", () => {
    const raw = base();
    raw.hosts[0].name = "web1).address: ok\nhosts[9] (x";
    expect(problems(raw)).toEqual([
      'hosts[0] ("web1).address: ok\\nhosts[9] (x").name: "web1).address: ok\\nhosts[9] (x" is not a valid host name (lowercase letters, digits and inner hyphens, at most 63)',
    ]);
  });

  test("no hosts at all", () => {
    expect(problems({ ...base(), hosts: [] })).toEqual(["hosts: at least one host is needed"]);
  });

  test("insecure registries are allowed, with a warning per host", () => {
    const c = parseConfig({ ...base(), daemon: { insecureRegistries: ["registry.lan:5000"] } }, readFile);
    expect(c.warnings).toEqual([
      "host web1: insecure-registries registry.lan:5000 are reached without TLS",
      "host web2: insecure-registries registry.lan:5000 are reached without TLS",
    ]);
  });

  test("host keys come from a known_hosts file, plain or hashed", () => {
    files["/keys/known_hosts"] = [
      "10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlain",
      // `ssh-keygen -H` form of web2.example.com with salt "salt-salt-salt-salt-"
      `|1|c2FsdC1zYWx0LXNhbHQtc2FsdC0=|${require("crypto").createHmac("sha1", "salt-salt-salt-salt-").update("web2.example.com").digest("base64")} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHashed`,
    ].join("\n");
    const c = parseConfig({ ...unpinned(), sshKnownHostsPath: "/keys/known_hosts" }, readFile);
    expect(c.hosts.map((h) => h.hostKey)).toEqual([
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlain",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHashed",
    ]);
    expect(findHostKey(files["/keys/known_hosts"], "10.0.0.1", 2222)).toBeUndefined();
  });

  test("a host missing from the known_hosts file is an error, not an unpinned host", () => {
    files["/keys/kh2"] = "10.9.9.9 ssh-ed25519 AAAA\n";
    expect(problems({ ...unpinned(), sshKnownHostsPath: "/keys/kh2" })).toEqual([
      'hosts[0] (web1).hostKey: no key for 10.0.0.1 in sshKnownHostsPath "/keys/kh2"',
      'hosts[1] (web2).hostKey: no key for web2.example.com in sshKnownHostsPath "/keys/kh2"',
    ]);
  });
});

describe("pinned SSH host keys", () => {
  const hint = (address: string) => `ssh-keyscan -t ed25519 -p 22 ${address} | cut -d' ' -f2-`;
  const MISSING = (at: string, address: string) =>
    `${at}.hostKey: no pinned SSH host key; pin it as hostKey: ${hint(address)} ` +
    "(or list the host in the file named by sshKnownHostsPath; to connect without checking, set insecureSkipHostKeyCheck: true)";
  const WARNING = (name: string, address: string) =>
    `host ${name}: its SSH host key is not checked (insecureSkipHostKeyCheck), so whoever answers at ${address} gets the session; ` +
    `pin it as hostKey: ${hint(address)}`;

  test("a host with neither hostKey nor sshKnownHostsPath is an error, reported with the other problems", () => {
    const raw = unpinned();
    raw.hosts[0] = { ...raw.hosts[0], hostKey: PIN, port: 0 };
    expect(problems(raw)).toEqual(["hosts[0] (web1).port: 0 is out of range (1-65535)", MISSING("hosts[1] (web2)", "web2.example.com")]);
    expect(problems(unpinned())).toEqual([MISSING("hosts[0] (web1)", "10.0.0.1"), MISSING("hosts[1] (web2)", "web2.example.com")]);
  });

  test("the stack's insecureSkipHostKeyCheck lets unpinned hosts through, each with a warning", () => {
    const raw = { ...unpinned(), insecureSkipHostKeyCheck: true };
    raw.hosts[0].hostKey = PIN;
    const c = parseConfig(raw, readFile);
    expect(c.hosts.map((h) => h.hostKey)).toEqual([PIN, undefined]);
    expect(c.warnings).toEqual([WARNING("web2", "web2.example.com")]);
    expect(parseConfig(base(), readFile).warnings).toEqual([]);
    expect(problems({ ...base(), insecureSkipHostKeyCheck: "yes" })).toEqual([
      'insecureSkipHostKeyCheck: "yes" is a string, not a boolean (true or false)',
    ]);
  });

  test("a host's own insecureSkipHostKeyCheck wins over the stack's, and is not looked up in known_hosts", () => {
    const raw = unpinned();
    raw.hosts[0].insecureSkipHostKeyCheck = true;
    expect(problems(raw)).toEqual([MISSING("hosts[1] (web2)", "web2.example.com")]);
    raw.hosts[1].insecureSkipHostKeyCheck = false;
    expect(problems({ ...raw, insecureSkipHostKeyCheck: true })).toEqual([MISSING("hosts[1] (web2)", "web2.example.com")]);
    files["/keys/kh-web2"] = `web2.example.com ${PIN}\n`;
    const c = parseConfig({ ...raw, sshKnownHostsPath: "/keys/kh-web2" }, readFile);
    expect(c.hosts.map((h) => h.hostKey)).toEqual([undefined, PIN]);
    expect(c.warnings).toEqual([WARNING("web1", "10.0.0.1")]);
  });

  test("a host pinned and opted out at once is an error; a known_hosts file without the host stays one", () => {
    const raw = base();
    raw.hosts[1].insecureSkipHostKeyCheck = true;
    expect(problems(raw)).toEqual([
      "hosts[1] (web2).insecureSkipHostKeyCheck: is true, but the host has a pinned hostKey; remove one of them",
    ]);
    files["/keys/kh-empty"] = "";
    expect(problems({ ...unpinned(), sshKnownHostsPath: "/keys/kh-empty", insecureSkipHostKeyCheck: true })).toEqual([
      'hosts[0] (web1).hostKey: no key for 10.0.0.1 in sshKnownHostsPath "/keys/kh-empty"',
      'hosts[1] (web2).hostKey: no key for web2.example.com in sshKnownHostsPath "/keys/kh-empty"',
    ]);
  });
});

describe("host key types", () => {
  // Shaped like the real lines (the provider parses them; these tests only need the type and the shape).
  const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEd";
  const P256 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYP256";
  const P384 = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQP384";
  const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQRsa";
  const DSA = "ssh-dss AAAAB3NzaC1kc3MAAACBAPDsa";
  const RSA_PROBLEM =
    "is an ssh-rsa key; the command provider would offer only ssh-rsa (SHA-1) for it, which OpenSSH 8.8 and later refuse. " +
    "Pin the host's ed25519 key instead: ssh-keyscan -t ed25519 -p 22 10.0.0.1 | cut -d' ' -f2-";
  const withKey = (hostKey: string, over: Record<string, unknown> = {}) => {
    const raw = base();
    raw.hosts[0] = { ...raw.hosts[0], hostKey, ...over };
    return raw;
  };
  const withKnownHosts = (lines: string[]) => {
    files["/keys/kh-types"] = lines.join("\n") + "\n";
    return { ...unpinned(), sshKnownHostsPath: "/keys/kh-types" };
  };

  test("known_hosts: ed25519 wins over an earlier RSA line and an ECDSA line", () => {
    const kh = [`10.0.0.1 ${RSA}`, `10.0.0.1 ${P256}`, `10.0.0.1 ${ED25519}`].join("\n");
    expect(findHostKey(kh, "10.0.0.1", 22)).toBe(ED25519);
  });

  test("known_hosts: ECDSA wins over RSA and DSA, P-256 over P-384; equals keep the file's order", () => {
    expect(findHostKey([`10.0.0.1 ${RSA}`, `10.0.0.1 ${DSA}`, `10.0.0.1 ${P384}`].join("\n"), "10.0.0.1", 22)).toBe(P384);
    expect(findHostKey([`10.0.0.1 ${P384}`, `10.0.0.1 ${P256}`].join("\n"), "10.0.0.1", 22)).toBe(P256);
    expect(findHostKey([`10.0.0.1 ${RSA}`, `10.0.0.1 ${DSA}`].join("\n"), "10.0.0.1", 22)).toBe(RSA);
  });

  test("known_hosts: the preference spans plain, listed, bracketed and hashed lines, and skips markers and comments", () => {
    const salt = Buffer.from("0123456789abcdefghij");
    const hashed = `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update("[10.0.0.1]:2222").digest("base64")}`;
    const kh = [
      `# [10.0.0.1]:2222 ${ED25519}`,
      `@revoked [10.0.0.1]:2222 ${ED25519}`,
      `@cert-authority [10.0.0.1]:2222 ${ED25519}`,
      `10.0.0.1 ${ED25519}`,
      `web1,[10.0.0.1]:2222 ${RSA}`,
      `${hashed} ${P256}`,
    ].join("\n");
    expect(findHostKey(kh, "10.0.0.1", 2222)).toBe(P256);
    expect(findHostKey(kh, "10.0.0.1", 22)).toBe(ED25519);
  });

  test("known_hosts: the better key is what parseConfig pins", () => {
    const c = parseConfig(
      withKnownHosts([`10.0.0.1 ${RSA}`, `10.0.0.1 ${ED25519}`, `web2.example.com ${RSA}`, `web2.example.com ${P256}`]),
      readFile,
    );
    expect(c.hosts.map((h) => h.hostKey)).toEqual([ED25519, P256]);
  });

  test("known_hosts with only an RSA or DSA key for a host: an error per host, with the ssh-keyscan to run", () => {
    expect(problems(withKnownHosts([`10.0.0.1 ${RSA}`, `web2.example.com ${DSA}`, `web2.example.com ${RSA}`]))).toEqual([
      'hosts[0] (web1).hostKey: sshKnownHostsPath "/keys/kh-types" has only an ssh-rsa key for 10.0.0.1; ' +
        "the command provider would offer only ssh-rsa (SHA-1) for it, which OpenSSH 8.8 and later refuse. " +
        "Add the host's ed25519 key to the file (ssh-keyscan -t ed25519 -p 22 10.0.0.1 >> /keys/kh-types), " +
        "or pin it as hostKey: ssh-keyscan -t ed25519 -p 22 10.0.0.1 | cut -d' ' -f2-",
      'hosts[1] (web2).hostKey: sshKnownHostsPath "/keys/kh-types" has only an ssh-dss key for web2.example.com; ' +
        "the command provider would offer only ssh-dss (DSA) for it, which OpenSSH 7.0 and later refuse. " +
        "Add the host's ed25519 key to the file (ssh-keyscan -t ed25519 -p 22 web2.example.com >> /keys/kh-types), " +
        "or pin it as hostKey: ssh-keyscan -t ed25519 -p 22 web2.example.com | cut -d' ' -f2-",
    ]);
  });

  test("an RSA hostKey is an error naming the host, why, and the ssh-keyscan to run (with the host's port)", () => {
    expect(problems(withKey(RSA))).toEqual([`hosts[0] (web1).hostKey: ${RSA_PROBLEM}`]);
    expect(problems(withKey(`${RSA} root@web1`, { port: 2222 }))).toEqual([
      `hosts[0] (web1).hostKey: ${RSA_PROBLEM.replace("-p 22", "-p 2222")}`,
    ]);
  });

  test("a DSA hostKey is an error too, reported with the other hosts' problems", () => {
    const raw = withKey(DSA);
    raw.hosts[1].address = "10.0.0.999";
    expect(problems(raw)).toEqual([
      "hosts[0] (web1).hostKey: is an ssh-dss key; the command provider would offer only ssh-dss (DSA) for it, which OpenSSH 7.0 and later refuse. " +
        "Pin the host's ed25519 key instead: ssh-keyscan -t ed25519 -p 22 10.0.0.1 | cut -d' ' -f2-",
      'hosts[1] (web2).address: "10.0.0.999" is not an IP address or DNS name',
    ]);
  });

  test("a security-key type is refused as a host key", () => {
    expect(problems(withKey("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t"))).toEqual([
      expect.stringMatching(
        /^hosts\[0\] \(web1\)\.hostKey: is an sk-ssh-ed25519@openssh\.com key; .*ssh-keyscan -t ed25519 -p 22 10\.0\.0\.1 /,
      ),
    ]);
  });

  test("ed25519 and ECDSA pins are accepted as given", () => {
    for (const key of [ED25519, P256, P384, `${ED25519} root@web1`]) {
      expect(parseConfig(withKey(key), readFile).hosts[0].hostKey).toBe(key);
    }
  });

  test("a line of the wrong shape is still refused by its shape", () => {
    expect(problems(withKey("ssh-ed25519"))).toEqual(['hosts[0] (web1).hostKey: is not an SSH public key line ("ssh-ed25519 AAAA…")']);
  });
});

describe("CA rotation settings", () => {
  test("trustPreviousCa needs a previous generation; caGeneration is a whole number from 1", () => {
    expect(problems({ ...base(), pki: { trustPreviousCa: true } })).toEqual([
      "pki.trustPreviousCa: needs pki.caGeneration 2 or more: generation 1 has no previous CA",
    ]);
    expect(problems({ ...base(), pki: { caGeneration: 0 } })).toEqual(["pki.caGeneration: 0 must be 1 or more"]);
    expect(problems({ ...base(), pki: { caGeneration: 2, trustPreviousCa: true } })).toEqual([]);
  });
});

describe("security settings: the docker group, and the daemon's hardening", () => {
  test("unset: no allowed list, no enforcement, no hardening key written", () => {
    const c = parseConfig(base(), readFile);
    expect(c.hosts[0].security).toEqual({ enforceDockerGroup: false });
    for (const k of ["icc", "noNewPrivileges", "userlandProxy", "usernsRemap"] as const) expect(c.hosts[0].daemon[k]).toBeUndefined();
  });

  test("the stack's security, each host's own over it; the daemon's hardening like any daemon setting", () => {
    const raw = {
      ...base(),
      security: { dockerGroup: ["alice", "bob"], enforceDockerGroup: true },
      daemon: { icc: false, usernsRemap: "default" },
    };
    raw.hosts[1] = { ...raw.hosts[1], security: { dockerGroup: [] }, daemon: { noNewPrivileges: true, userlandProxy: false } };
    const c = parseConfig(raw, readFile);
    expect(c.hosts[0].security).toEqual({ dockerGroup: ["alice", "bob"], enforceDockerGroup: true });
    expect(c.hosts[1].security).toEqual({ dockerGroup: [], enforceDockerGroup: true });
    expect(c.hosts[1].daemon).toMatchObject({ icc: false, usernsRemap: "default", noNewPrivileges: true, userlandProxy: false });
  });

  test("enforcement without a list, bad user names, a name twice, a bad userns-remap: every problem at once, naming field and host", () => {
    const raw: Raw = { ...base(), security: { enforceDockerGroup: true }, daemon: { usernsRemap: "root user", icc: "no" } };
    raw.hosts[0] = { ...raw.hosts[0], security: { dockerGroup: ["alice", "Alice", "alice"] } };
    raw.hosts[1] = { ...raw.hosts[1], security: { enforceDockerGroup: true, colour: 1 } };
    expect(problems(raw)).toEqual([
      'hosts[0] (web1).security.dockerGroup[1]: "Alice" is not a user name',
      'hosts[0] (web1).security.dockerGroup[2]: "alice" is listed twice',
      'hosts[1] (web2).security: unknown key(s) "colour"',
      'daemon.icc: "no" is a string, not a boolean (true or false)',
      'daemon.usernsRemap: "root user" is not "default" or USER[:GROUP] (names or numeric ids)',
    ]);
    delete (raw.hosts[1].security as Record<string, unknown>).colour;
    raw.hosts[0].security = {};
    raw.daemon = {};
    expect(problems(raw)).toEqual([
      "security.enforceDockerGroup: needs security.dockerGroup (the members allowed), which hosts[0] (web1) does not set; an empty list allows nobody",
      "hosts[1] (web2).security.enforceDockerGroup: needs security.dockerGroup (the members allowed), which this host does not set; an empty list allows nobody",
    ]);
  });

  test("userns-remap: default, USER or USER:GROUP, by name or id", () => {
    for (const ok of ["default", "dockremap", "alice:alice", "1000:1000", "svc$"]) {
      expect(parseConfig({ ...base(), daemon: { usernsRemap: ok } }, readFile).hosts[0].daemon.usernsRemap).toBe(ok);
    }
    for (const bad of ["", "a:b:c", "Alice", ":1000", "default:x y"])
      expect(problems({ ...base(), daemon: { usernsRemap: bad } })).toHaveLength(1);
  });

  test("their daemon.json keys in extra: held to the setting's rules, and never beside it", () => {
    const raw = { ...base(), daemon: { icc: false, extra: { icc: true, "userns-remap": "no such thing" } } };
    raw.hosts[1].daemon = { extra: { "No-New-Privileges": true, "userland-proxy": "off" } };
    expect(problems(raw)).toEqual([
      'hosts[1] (web2).daemon.extra.No-New-Privileges: is read by dockerd as "no-new-privileges" (dockerd matches daemon.json keys regardless of case); set daemon.noNewPrivileges instead',
      'hosts[1] (web2).daemon.extra.userland-proxy: "off" is a string, not a boolean (true or false)',
      'daemon.extra.userns-remap: "no such thing" is not "default" or USER[:GROUP] (names or numeric ids)',
      "daemon.extra.icc: is what daemon.icc writes, and daemon.icc is set too; set daemon.icc only",
    ]);
  });
});
