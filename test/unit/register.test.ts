/**
 * register.js, the loader Pulumi runs the program with (Pulumi.yaml nodeargs): a .ts file runs
 * transpiled, from the cache when its content was seen before, and transpiled again when it changed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REGISTER = path.resolve(__dirname, "..", "..", "register.js");
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-register-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (file: string) =>
  execFileSync(process.execPath, ["-r", REGISTER, file], {
    encoding: "utf8",
    env: { ...process.env, DOCKER_TLS_CACHE_DIR: path.join(dir, "cache") },
  });
const cached = () => fs.readdirSync(path.join(dir, "cache", "transpiled")).filter((f) => f.endsWith(".js"));

test("a .ts program runs, importing another .ts; each file is transpiled once and kept", () => {
  fs.writeFileSync(path.join(dir, "lib.ts"), "export const twice = (n: number): number => n * 2;\n");
  fs.writeFileSync(path.join(dir, "main.ts"), 'import { twice } from "./lib";\nconsole.log(twice(21));\n');
  expect(run(path.join(dir, "main.ts"))).toBe("42\n");
  expect(cached()).toHaveLength(2);
  // The second run reads the cache: a cached file that says otherwise is what runs.
  const [first] = cached();
  expect(run(path.join(dir, "main.ts"))).toBe("42\n");
  expect(cached()).toEqual(expect.arrayContaining([first]));
  expect(cached()).toHaveLength(2);
});

test("an edited file is transpiled again: its old form is never run", () => {
  const main = path.join(dir, "main.ts");
  fs.writeFileSync(main, "const a: string = 'before';\nconsole.log(a);\n");
  expect(run(main)).toBe("before\n");
  fs.writeFileSync(main, "const a: string = 'after';\nconsole.log(a);\n");
  expect(run(main)).toBe("after\n");
  expect(cached()).toHaveLength(2);
});
