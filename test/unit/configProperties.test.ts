/**
 * Properties of config validation, over generated stacks rather than chosen examples:
 * (a) a refused config names a property path at the start of every problem, on one line;
 * (b) an accepted config renders every host's plan, files and scripts without throwing, and its
 *     daemon.json keeps the program's listeners and TLS whatever `extra` holds;
 * (c) every rendered script is valid sh (`sh -n`), as is the command line that runs it, and the
 *     restart command reaches the host's shell as configured.
 * The runs are bounded so that the unit suite stays fast; fast-check prints the seed of a failure.
 */
import { spawnSync } from "child_process";
import fc from "fast-check";
import {
  CHECK_CLIENT,
  Config,
  ConfigError,
  INIT_KINDS,
  KEY_ALGORITHMS,
  LOG_LEVELS,
  MANAGED_DAEMON_KEYS,
  addressKey,
  defaultWarnBeforeHours,
  parseConfig,
} from "../../config";
import { planHost, renderHostFiles } from "../../host/plan";
import { DAEMON_JSON_PATH, TYPED_DAEMON_KEYS } from "../../render/daemon";
import * as remote from "../../render/scripts";
import { FAKE_SSH_KEY } from "../support/config";
import { PLAN_CONTEXT } from "./auditFixtures";

type Raw = Record<string, unknown>;
/** A generated stack: its raw config and the files its paths name. */
interface Stack {
  raw: Raw;
  files: Record<string, string>;
}

const readFileOf = (files: Record<string, string>) => (p: string) => {
  if (p in files) return files[p];
  throw new Error(`ENOENT: no such file ${p}`);
};

/** The problems parseConfig reports, or undefined when it accepts; anything but a ConfigError is thrown on. */
function problemsOf(stack: Stack): string[] | undefined {
  try {
    parseConfig(stack.raw, readFileOf(stack.files));
    return undefined;
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Valid stacks

const NAME = /^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/;
const name = fc.stringMatching(NAME);
const ip = fc.oneof(fc.ipV4(), fc.ipV6());
const address = fc.oneof(ip, fc.domain());
/** Any text but NUL (no command line carries one): ASCII controls, and whole Unicode graphemes. */
const text = fc
  .oneof(fc.string({ unit: "binary-ascii", maxLength: 16 }), fc.string({ unit: "grapheme", maxLength: 16 }))
  .filter((s) => !s.includes("\0"));

/** Restart commands a user could write: several steps, quotes of any text, `;`, `&&`, lines, a trailing comment. */
const restartCommand = (() => {
  const word = fc.stringMatching(/^[a-z][a-z0-9_./-]{0,10}$/);
  const step = fc.oneof(
    fc.constantFrom(
      "systemctl restart docker",
      "service docker restart",
      "/etc/init.d/docker restart",
      'kill -HUP "$(cat /var/run/docker.pid)"',
      "{ sleep 1; rc-service docker restart; }",
      "if [ -x /etc/init.d/docker ]; then /etc/init.d/docker restart; fi",
    ),
    fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join(" ")),
    text.map((t) => `echo ${remote.shellQuote(t)}`),
    text.map((t) => `printf '%s\\n' "${t.replace(/["\\$`]/g, "\\$&")}"`),
  );
  const joiner = fc.constantFrom("; ", " && ", " || ", " | ", "\n");
  // A comment runs to the end of its line: one with a line break in it would not be a comment.
  const comment = fc.option(
    text.filter((t) => !/[\n\r]/.test(t)).map((t) => ` # ${t}`),
    { nil: "" },
  );
  return fc
    .tuple(step, fc.array(fc.tuple(joiner, step), { maxLength: 3 }), comment)
    .map(([first, rest, note]) => first + rest.map(([j, s]) => j + s).join("") + note);
})();

const hostKey = fc
  .tuple(
    fc.constantFrom("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY"),
    fc.stringMatching(/^[A-Za-z0-9+/]{4,24}={0,2}$/),
    fc.option(fc.constant(" root@host"), { nil: "" }),
  )
  .map(([head, body, comment]) => head + body + comment);

// dockerd reads keys regardless of case and around spaces; the keys this program writes are not `extra`'s.
const ownKeys = [...MANAGED_DAEMON_KEYS, ...Object.keys(TYPED_DAEMON_KEYS)];
const extraKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !ownKeys.includes(k.trim().toLowerCase()));

const daemonOverrides = fc.record(
  {
    bindAddress: ip,
    port: fc.integer({ min: 1, max: 65535 }),
    keepUnixSocket: fc.boolean(),
    logLevel: fc.constantFrom(...LOG_LEVELS),
    debug: fc.boolean(),
    dns: fc.array(ip, { maxLength: 2 }),
    registryMirrors: fc.array(fc.webUrl(), { maxLength: 2 }),
    insecureRegistries: fc.array(
      fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([d, p]) => `${d}:${p}`),
      {
        maxLength: 2,
      },
    ),
    liveRestore: fc.boolean(),
    icc: fc.boolean(),
    noNewPrivileges: fc.boolean(),
    userlandProxy: fc.boolean(),
    usernsRemap: fc.constantFrom("default", "dockremap", "alice:alice", "1000:1000", "_svc$"),
    extra: fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

/** Linux user names, as security.dockerGroup lists them. */
const userName = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/);
/** `security`: an allowed docker group, enforced or not (enforcement never without a list). */
const security = fc.option(
  fc.record(
    { dockerGroup: fc.uniqueArray(userName, { maxLength: 3 }), enforceDockerGroup: fc.boolean() },
    { requiredKeys: ["dockerGroup"] },
  ),
  { nil: undefined },
);

/** How a host's SSH key is pinned: its hostKey, its known_hosts line, or its own opt-out; else the stack's opt-out. */
const PINNING = ["hostKey", "knownHosts", "hostOptOut", "stackOptOut"] as const;

const host = fc.record(
  {
    name,
    address,
    dnsNames: fc.array(fc.domain(), { maxLength: 2 }),
    ipAddresses: fc.array(ip, { maxLength: 2 }),
    user: fc.oneof(fc.constant("root"), fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/)),
    port: fc.integer({ min: 1, max: 65535 }),
    sudo: fc.boolean(),
    init: fc.constantFrom(...INIT_KINDS),
    restartCommand,
    daemon: daemonOverrides,
    security: security.filter((s) => s !== undefined),
    pinning: fc.constantFrom(...PINNING),
    hostKey,
  },
  { requiredKeys: ["name", "address", "init", "restartCommand", "pinning", "hostKey"] },
);

const pki = fc
  .record({
    algorithm: fc.constantFrom(...KEY_ALGORITHMS),
    renewBeforeHours: fc.integer({ min: 1, max: 2000 }),
    leafOverRenew: fc.integer({ min: 1, max: 20000 }),
    caOverLeaf: fc.integer({ min: 1, max: 100000 }),
    // Where the warning window falls between the renew-before window and the leaves' validity, if it is set.
    warnAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    organization: text.filter((t) => t.length > 0),
  })
  .map(({ leafOverRenew, caOverLeaf, warnAt, ...p }) => {
    const leafValidityHours = p.renewBeforeHours + leafOverRenew;
    const settings = { ...p, leafValidityHours, caValidityHours: leafValidityHours + caOverLeaf };
    // Set only where a whole hour fits strictly between the two.
    if (warnAt === undefined || leafOverRenew < 2) return settings;
    return { ...settings, warnBeforeHours: p.renewBeforeHours + 1 + Math.floor(warnAt * (leafOverRenew - 2)) };
  });

const KNOWN_HOSTS = "/keys/known_hosts";

/** Stacks that parseConfig must accept: unique names and addresses, every rule kept. */
const validStack: fc.Arbitrary<Stack> = fc
  .record({
    hosts: fc
      .uniqueArray(host, { minLength: 1, maxLength: 3, selector: (h) => h.name })
      .filter((hs) => new Set(hs.map((h) => addressKey(h.address))).size === hs.length),
    clients: fc.uniqueArray(
      name.filter((n) => n !== CHECK_CLIENT),
      { maxLength: 3 },
    ),
    pki: fc.option(pki, { nil: undefined }),
    daemon: fc.option(daemonOverrides, { nil: undefined }),
    security,
  })
  .map(({ hosts, clients, pki, daemon, security }) => {
    const knownHosts: string[] = [];
    // With a known_hosts file, a host missing from it is an error even when the stack opts out: such a host opts out itself.
    const usesFile = hosts.some((h) => h.pinning === "knownHosts");
    const rawHosts = hosts.map(({ hostKey, init, restartCommand, ...rest }) => {
      const { pinning: chosen, ...h } = rest;
      const pinning = chosen === "stackOptOut" && usesFile ? "hostOptOut" : chosen;
      const pin: Raw = {};
      if (pinning === "hostKey") pin.hostKey = hostKey;
      if (pinning === "hostOptOut") pin.insecureSkipHostKeyCheck = true;
      if (pinning === "knownHosts")
        knownHosts.push(`${h.port === undefined || h.port === 22 ? h.address : `[${h.address}]:${h.port}`} ${hostKey}`);
      return { ...h, ...pin, init, ...(init === "custom" ? { restartCommand } : {}) };
    });
    const raw: Raw = { hosts: rawHosts, clients: clients.map((n) => ({ name: n })), sshPrivateKeyPath: "/keys/id" };
    if (pki !== undefined) raw.pki = pki;
    if (daemon !== undefined) raw.daemon = daemon;
    if (security !== undefined) raw.security = security;
    // A host pinned by nothing of its own needs a stack that says so; a known_hosts file pins the rest.
    if (!usesFile && hosts.some((h) => h.pinning === "stackOptOut")) raw.insecureSkipHostKeyCheck = true;
    if (usesFile) raw.sshKnownHostsPath = KNOWN_HOSTS;
    return { raw, files: { "/keys/id": FAKE_SSH_KEY, [KNOWN_HOSTS]: knownHosts.join("\n") + "\n" } };
  });

// ---------------------------------------------------------------------------------------------
// Refused stacks: a valid one with bad values put at random places

type Path = (string | number)[];

/** Every path in a JSON value, the root excluded. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  const children: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value !== null && typeof value === "object"
      ? Object.entries(value)
      : [];
  return children.flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
}

type Mutation = { kind: "set"; value: unknown } | { kind: "delete" } | { kind: "addKey"; key: string; value: unknown } | { kind: "repeat" };

// Values each of which some rule refuses somewhere: wrong types, bad text, out of range, reserved.
const BAD_VALUES: unknown[] = [
  "",
  " ",
  "22",
  "yes",
  "true",
  -1,
  0,
  1.5,
  70000,
  null,
  [],
  {},
  [1, "a"],
  "10.0.0.999",
  "fe80::1%eth0",
  "Web_1",
  "a".repeat(40),
  CHECK_CLIENT,
  "ssh-rsa AAAAB3NzaC1yc2E",
  "if then",
  "echo 'unterminated",
  "tcp://0.0.0.0:2375",
  "a\0b",
  "verbose",
];
// Keys that some object refuses: unknown ones, managed daemon.json keys in other spellings, typed twins.
const ODD_KEYS = [
  "colour",
  "TLSVerify",
  "tlsverify ",
  "Hosts",
  "log-level",
  "Log-Level",
  "insecure-registries",
  "dns",
  "__proto__",
  "name",
];

const badValue = fc.oneof(
  { arbitrary: fc.constantFrom(...BAD_VALUES), weight: 4 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("set" as const), value: badValue }), weight: 5 },
  { arbitrary: fc.constant({ kind: "delete" as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("addKey" as const), key: fc.constantFrom(...ODD_KEYS), value: badValue }), weight: 2 },
  { arbitrary: fc.constant({ kind: "repeat" as const }), weight: 1 },
);

// Inside `extra`, any value is some daemon.json value: a mutation there would most often be accepted.
const mutable = (at: Path) => !at.slice(0, -1).includes("extra");

type Node = Record<string | number, unknown>;
const isNode = (v: unknown): v is Node => v !== null && typeof v === "object";

/**
 * `raw` with `m` applied at `at` (a copy). A mutation that does not fit the place (an earlier one
 * removed it, or it is not a list to repeat an entry of) changes nothing.
 */
function mutate(raw: Raw, at: Path, m: Mutation): Raw {
  const copy = JSON.parse(JSON.stringify(raw)) as Raw;
  let parent: unknown = copy;
  for (const k of at.slice(0, -1)) parent = isNode(parent) ? parent[k] : undefined;
  if (!isNode(parent)) return copy;
  const key = at[at.length - 1];
  const target = parent[key];
  if (m.kind === "set") parent[key] = m.value;
  else if (m.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (m.kind === "addKey" && isNode(target) && !Array.isArray(target)) {
    Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
  } else if (m.kind === "repeat" && Array.isArray(target) && target.length > 0) {
    target.push(JSON.parse(JSON.stringify(target[0])));
  }
  return copy;
}

const mutatedStack: fc.Arbitrary<Stack> = validStack.chain((stack) =>
  fc
    .array(fc.tuple(fc.constantFrom(...pathsOf(stack.raw).filter(mutable)), mutation), { minLength: 1, maxLength: 3 })
    .map((ms) => ({ ...stack, raw: ms.reduce((raw, [at, m]) => mutate(raw, at, m), stack.raw) })),
);

// ---------------------------------------------------------------------------------------------
// The paths describePath writes

const TOP_KEYS = [
  "hosts",
  "clients",
  "pki",
  "daemon",
  "security",
  "sshPrivateKey",
  "sshPrivateKeyPath",
  "sshKnownHostsPath",
  "insecureSkipHostKeyCheck",
];
const JSON_STRING = String.raw`"(?:[^"\\]|\\.)*"`;
// `hosts[2] (web3)`: a list entry named by its name, quoted unless plain.
const ENTRY = String.raw`\[\d+\](?: \((?:[\w.-]+|${JSON_STRING})\))?`;
// `.address`, `[0]`, `["tlsverify "]`.
const STEP = String.raw`(?:\.[A-Za-z0-9_-]+|\[\d+\]|\[${JSON_STRING}\])`;
/** A problem: a path (or `(config)` for the whole), `: `, and the rest of one line. */
const PROBLEM = new RegExp(String.raw`^(?:\(config\)|(?:${TOP_KEYS.join("|")})(?:${ENTRY})?${STEP}*): [^\n]+$`);

test("the problem pattern is describePath's", () => {
  for (const p of [
    'hosts[2] (web3).address: "10.0.0.999" is not an IP address or DNS name',
    'hosts[0] ("we b\\n1").daemon.extra["tlsverify "]: is managed by this program',
    "clients[1] (ci).name: is required",
    "daemon.dns[0]: is null, not a string",
    '(config): unknown key(s) "colour"',
  ])
    expect(p).toMatch(PROBLEM);
  for (const p of ["hosts[0] (web1)\n.address: x", "colour: unknown", "hosts[0] (web 1).name: x", "pki: ", "is required"])
    expect(p).not.toMatch(PROBLEM);
});

// ---------------------------------------------------------------------------------------------

test("(a) the generated stacks are valid, and every problem of a mutated one starts with its property path", () => {
  fc.assert(
    fc.property(validStack, (stack) => {
      expect(problemsOf(stack)).toBeUndefined();
    }),
    { numRuns: 50 },
  );
  let refused = 0;
  fc.assert(
    fc.property(mutatedStack, (stack) => {
      const problems = problemsOf(stack);
      if (problems === undefined) return;
      refused++;
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems) expect(p).toMatch(PROBLEM);
    }),
    { numRuns: 100 },
  );
  // Most mutations break a rule; if they stopped doing so, this test would prove little.
  expect(refused).toBeGreaterThan(50);
});

test("an unset warning window is larger than the renew-before window, and shorter than the leaves' validity wherever an hour fits between", () => {
  fc.assert(
    fc.property(validStack, (stack) => {
      const { renewBeforeHours, leafValidityHours, warnBeforeHours } = parseConfig(stack.raw, readFileOf(stack.files)).pki;
      expect(warnBeforeHours).toBeGreaterThan(renewBeforeHours);
      if (leafValidityHours - renewBeforeHours >= 2) expect(warnBeforeHours).toBeLessThan(leafValidityHours);
      const set = (stack.raw.pki as Raw | undefined)?.warnBeforeHours;
      if (set === undefined) expect(warnBeforeHours).toBe(defaultWarnBeforeHours({ renewBeforeHours, leafValidityHours }));
    }),
    { numRuns: 100 },
  );
});

/** What a probe may find on a host: a daemon.json object, /etc/default/docker lines, the unit's ExecStart. */
const probe: fc.Arbitrary<remote.ProbeResult> = fc.record(
  {
    daemonJson: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((o) => JSON.stringify(o)),
    defaultDocker: fc.array(text, { maxLength: 4 }).map((lines) => lines.join("\n")),
    execStart: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
  },
  { requiredKeys: [] },
);

/** Every command text DockerHost and HostAudit would run on the host's SSH login shell, by name. */
function renderEverything(config: Config, found: remote.ProbeResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of config.hosts) {
    const plan = planHost(h, PLAN_CONTEXT);
    const files = renderHostFiles(h, plan.files, { probe: found, serverCertPem: "CERT\n", serverKeyPem: "KEY\n", clientCaBundle: "CA\n" });
    remote.renderManifest(files);
    remote.renderUploadPayload(files);

    // Whatever `extra` and the host's own file hold, the program's listeners and TLS are what dockerd reads.
    const daemonJson = JSON.parse(files.find((f) => f.path === DAEMON_JSON_PATH)!.content) as Record<string, unknown>;
    if (h.init === "sysv") for (const k of MANAGED_DAEMON_KEYS) expect(daemonJson).not.toHaveProperty([k]);
    else expect([daemonJson.hosts, daemonJson.tlsverify]).toEqual([plan.listenHosts, true]);

    const scripts = {
      probe: remote.renderProbeScript(plan.target),
      upload: remote.renderUploadScript(plan.target),
      apply: remote.renderApplyScript(plan.target),
      restore: remote.renderRestoreScript(plan.target),
      unstage: remote.renderUnstageScript(plan.target),
      inspect: remote.renderAuditScript(
        { init: plan.init, port: plan.daemonPort, files: Object.fromEntries(plan.files.map((f) => [f.path, f])) },
        { tlsPaths: plan.tlsPaths },
      ),
    };
    for (const [step, script] of Object.entries(scripts)) {
      out[`${h.name} ${step}`] = script;
      out[`${h.name} ${step} (command line)`] = remote.remoteCommand(script, plan.connection.sudo);
    }
  }
  return out;
}

/**
 * What `sh -n` (parse, run nothing) says of each script that is not valid sh: `name: complaint`
 * lines, none when all are valid. One shell runs the checks, each in an `sh -n` of its own: far
 * cheaper than starting each from this (large) Node process.
 */
function shSyntax(scripts: Record<string, string>): string {
  const driver = `while [ $# -gt 0 ]; do err=$(/bin/sh -n -c "$2" 2>&1) || printf '%s: %s\\n' "$1" "\${err:-invalid}"; shift 2; done`;
  const r = spawnSync("/bin/sh", ["-c", driver, "sh", ...Object.entries(scripts).flat()], { encoding: "utf8" });
  return r.status === 0 ? r.stdout : `the checking shell exits with ${r.status}: ${r.stderr}`;
}

test("(b) every accepted stack renders every host's plan, files and scripts without throwing", () => {
  fc.assert(
    fc.property(fc.oneof(validStack, mutatedStack), probe, (stack, found) => {
      let config: Config;
      try {
        config = parseConfig(stack.raw, readFileOf(stack.files));
      } catch (e) {
        if (e instanceof ConfigError) return;
        throw e;
      }
      expect(Object.keys(renderEverything(config, found)).length).toBeGreaterThan(0);
    }),
    { numRuns: 100 },
  );
});

test("(c) every rendered script and its command line is valid sh, and the restart command arrives intact", () => {
  // The check itself: it finds an invalid script among valid ones, and names it.
  expect(shSyntax({ good: "true", bad: "if true; then", quoted: "echo 'a b'" })).toMatch(/^bad: \S.*\n$/);
  fc.assert(
    fc.property(validStack, probe, (stack, found) => {
      const config = parseConfig(stack.raw, readFileOf(stack.files));
      expect(shSyntax(renderEverything(config, found))).toBe("");
      for (const h of config.hosts) {
        // Only the prelude's assignments and the definitions of lib.sh and daemon.sh run here; the command is printed, not run.
        const r = spawnSync("/bin/sh", ["-c", remote.renderLibrary(planHost(h, PLAN_CONTEXT).target) + 'printf %s "$RESTART_COMMAND"'], {
          encoding: "utf8",
        });
        expect({ status: r.status, command: r.stdout }).toEqual({ status: 0, command: h.restartCommand ?? "" });
        // The docker group's allowed members reach the apply step as configured, enforced or not.
        const g = spawnSync(
          "/bin/sh",
          ["-c", remote.renderLibrary(planHost(h, PLAN_CONTEXT).target) + 'printf "%s|%s" "$DOCKER_GROUP_ENFORCE" "$DOCKER_GROUP_ALLOWED"'],
          {
            encoding: "utf8",
          },
        );
        const enforced = h.security.enforceDockerGroup;
        expect(g.stdout).toBe(`${enforced ? "yes" : "no"}|${enforced ? (h.security.dockerGroup ?? []).slice().sort().join(" ") : ""}`);
      }
    }),
    { numRuns: 30 },
  );
});
