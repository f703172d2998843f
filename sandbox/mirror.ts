// Finds the Debian mirror this machine's apt already uses, so debootstrap fetches from the
// same place (the only package source reachable here) and no host name is written in code.
import * as fs from "node:fs";
import * as path from "node:path";

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

/** Parses one-line `deb URI SUITE COMPONENT…` entries (options in [..] are skipped). */
export function parseListFile(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw
      .replace(/#.*/, "")
      .replace(/\[[^\]]*\]/, " ")
      .trim();
    const f = line.split(/\s+/);
    if (f[0] !== "deb" || f.length < 4) continue;
    sources.push({ uri: f[1], suites: [f[2]], components: f.slice(3) });
  }
  return sources;
}

/** Parses deb822 `.sources` stanzas (blank-line separated `Key: value` fields). */
export function parseSourcesFile(text: string): AptSource[] {
  const sources: AptSource[] = [];
  const stanzas = text.split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    for (const raw of stanza.split("\n")) {
      if (raw.startsWith("#")) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (!(fields.get("types") ?? "").split(/\s+/).includes("deb")) continue;
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    const suites = (fields.get("suites") ?? "").split(/\s+/).filter(Boolean);
    const components = (fields.get("components") ?? "").split(/\s+/).filter(Boolean);
    for (const uri of (fields.get("uris") ?? "").split(/\s+/).filter(Boolean)) {
      sources.push({ uri, suites, components });
    }
  }
  return sources;
}

export function readAptSources(root = "/etc/apt"): AptSource[] {
  const sources: AptSource[] = [];
  const list = path.join(root, "sources.list");
  if (fs.existsSync(list)) sources.push(...parseListFile(fs.readFileSync(list, "utf8")));
  const dir = path.join(root, "sources.list.d");
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  for (const name of names) {
    const file = path.join(dir, name);
    // apt itself ignores other suffixes (e.g. "*.disabled"), and so do we.
    if (name.endsWith(".list")) sources.push(...parseListFile(fs.readFileSync(file, "utf8")));
    else if (name.endsWith(".sources")) sources.push(...parseSourcesFile(fs.readFileSync(file, "utf8")));
  }
  return sources;
}

export function osCodename(osRelease = "/etc/os-release"): string {
  const m = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(fs.readFileSync(osRelease, "utf8"));
  if (!m) throw new Error(`no VERSION_CODENAME in ${osRelease}`);
  return m[2];
}

/** The mirror serving the plain release suite (not -security/-updates) with `main`. */
export function debianMirror(codename: string, sources: AptSource[] = readAptSources()): string {
  const hit = sources.find((s) => s.suites.includes(codename) && s.components.includes("main"));
  if (!hit) throw new Error(`no apt source for "${codename} main" in /etc/apt/sources.list*`);
  return hit.uri;
}
