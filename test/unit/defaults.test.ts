/**
 * config.ts is the one source of the defaults; Pulumi.yaml's descriptions and the README's
 * configuration table restate them for users. These tests keep the restatements honest: every
 * pki, daemon and host setting is mentioned, and a scalar default appears as `key (value`.
 */
import * as fs from "fs";
import * as path from "path";
import { DAEMON_DEFAULTS, PKI_DEFAULTS, SECURITY_DEFAULTS, STACK_DEFAULTS } from "../../config";
import { testHost } from "../support/config";

const ROOT = path.join(__dirname, "..", "..");

// What a stack that sets nothing else gets: the defaults as parseConfig applies them.
const minimal = testHost();
const HOST_DEFAULTS = { user: minimal.user, port: minimal.port, init: minimal.init, takeOver: minimal.takeOver };
const HOST_KEYS = [
  "name",
  "address",
  "dnsNames",
  "ipAddresses",
  "user",
  "port",
  "sudo",
  "hostKey",
  "insecureSkipHostKeyCheck",
  "init",
  "takeOver",
  "daemon",
  "security",
];
// The daemon settings that are written only when set: mentioned, without a default.
const OPTIONAL_DAEMON_KEYS = ["icc", "noNewPrivileges", "userlandProxy", "usernsRemap"];

/** The block of a top-level key under `config:` in Pulumi.yaml, its folded lines joined. */
function pulumiYamlEntry(key: string): string {
  const lines = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8").split("\n");
  const start = lines.indexOf(`  ${key}:`);
  if (start < 0) throw new Error(`Pulumi.yaml has no config key ${key}`);
  const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((l) => l.trim())
    .join(" ");
}

/** The README configuration table's row for `key` (its first cell, without backticks). */
function readmeRow(key: string): string {
  const row = fs
    .readFileSync(path.join(ROOT, "README.md"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`| \`${key}\` |`));
  if (row === undefined) throw new Error(`README's configuration table has no row for ${key}`);
  return row;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const mentions = (text: string, key: string) => new RegExp(`(^|[\\s,(\`])${escape(key)}\`?([\\s,;)]|$)`).test(text);
/** `key (value`, the key and the value each perhaps in backticks, the value ending at `)`, `,` or `;`. */
const statesDefault = (text: string, key: string, value: unknown) =>
  new RegExp(`(^|[\\s,(\`])${escape(key)}\`? \\(\`?${escape(String(value))}\`?[),;]`).test(text);

/** For each setting: whether the text mentions it, and states its scalar default; the misses, named. */
function misses(text: string, defaults: Record<string, unknown>, keys = Object.keys(defaults)): string[] {
  return keys.flatMap((key) => {
    if (!mentions(text, key)) return [`${key}: not mentioned`];
    const value = defaults[key];
    const scalar = value !== undefined && (typeof value !== "object" || value === null);
    return scalar && !statesDefault(text, key, value) ? [`${key}: does not state the default (${String(value)})`] : [];
  });
}

describe.each([
  ["Pulumi.yaml", pulumiYamlEntry],
  ["README.md", readmeRow],
])("%s states config.ts's defaults", (file, section) => {
  test("pki", () => {
    expect(misses(section("pki"), { ...PKI_DEFAULTS })).toEqual([]);
  });

  test("daemon", () => {
    expect(misses(section("daemon"), { ...DAEMON_DEFAULTS })).toEqual([]);
    expect(misses(section("daemon"), {}, OPTIONAL_DAEMON_KEYS)).toEqual([]);
  });

  test("security", () => {
    expect(misses(section("security"), { ...SECURITY_DEFAULTS }, ["dockerGroup", "enforceDockerGroup"])).toEqual([]);
  });

  test("hosts", () => {
    const key = file === "README.md" ? "hosts[]" : "hosts";
    expect(misses(section(key), HOST_DEFAULTS, HOST_KEYS)).toEqual([]);
  });
});

test.each(Object.entries(STACK_DEFAULTS))("Pulumi.yaml and README.md state the default of %s", (key, value) => {
  expect(pulumiYamlEntry(key)).toMatch(new RegExp(`(^| )default: ${escape(String(value))}( |$)`));
  expect(readmeRow(key).split("|")[2].trim()).toBe(String(value));
});

test("the check itself: a wrong or missing default is caught", () => {
  expect(misses("port (2375), debug (false)", { port: 2376, debug: false, dns: [] })).toEqual([
    "port: does not state the default (2376)",
    "dns: not mentioned",
  ]);
  expect(misses("`algorithm` (ECDSA-P256; ECDSA-P384), `init` (systemd; `sysv`)", { algorithm: "ECDSA-P256", init: "systemd" })).toEqual(
    [],
  );
});
