/**
 * compactShell (render/scripts.ts): the shell files lose their comment-only and blank lines on the
 * way into command text, and nothing else. shfmt (a Debian package, installed by .ci/run) parses
 * each file before and after, and prints its syntax tree minified: the two must be the same.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { compactShell } from "../../render/scripts";

const SH_DIR = path.join(__dirname, "..", "..", "render", "sh");
const FILES = fs.readdirSync(SH_DIR).filter((f) => f.endsWith(".sh"));

/** shfmt's minified print of a POSIX sh text: its syntax tree, without comments or layout. */
function syntaxTree(text: string): string {
  try {
    return execFileSync("shfmt", ["-ln", "posix", "-mn"], { input: text }).toString();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error("shfmt is not installed: apt-get install shfmt (.ci/run does)");
    throw e;
  }
}

test("there are shell files to check", () => {
  expect(FILES).toEqual(expect.arrayContaining(["lib.sh", "apply.sh", "inspect.sh", "security.sh"]));
});

test.each(FILES)("%s: the same syntax tree, in far fewer bytes", (file) => {
  const text = fs.readFileSync(path.join(SH_DIR, file), "utf8");
  const compact = compactShell(text);
  expect(syntaxTree(compact)).toBe(syntaxTree(text));
  expect(compact.length).toBeLessThan(text.length * 0.75);
});

test("a comment after code, indentation and a `#` inside a word stay", () => {
  const text = "# heading\n\nif true; then\n  echo a#b # why\n\t# indented note\nfi\n   \n";
  expect(compactShell(text)).toBe("if true; then\n  echo a#b # why\nfi\n");
});

test("property: the code lines come out in order, each whole; comment and blank lines never", () => {
  const code = fc.stringMatching(/^ {0,4}[a-z][a-z0-9 #'"=$-]{0,30}$/);
  const noise = fc.oneof(fc.stringMatching(/^[ \t]{0,4}#[^\n]{0,30}$/), fc.stringMatching(/^[ \t]{0,4}$/));
  const line = fc.oneof(
    code.map((text) => ({ text, kept: true })),
    noise.map((text) => ({ text, kept: false })),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
      const text = lines.map((l) => `${l.text}\n`).join("");
      const kept = lines.filter((l) => l.kept).map((l) => `${l.text}\n`);
      expect(compactShell(text)).toBe(kept.join(""));
    }),
    { numRuns: 200 },
  );
});
