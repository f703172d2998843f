/** A directory of its own from which Pulumi runs this program (e2e suites, `npm run bench`), so that stack files stay out of the checkout. */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./stack";

/** What the program needs at run time; Pulumi.yaml is copied (stack settings are written beside it). */
const PROGRAM_FILES = [
  "register.js",
  "index.ts",
  "config.ts",
  "environment.ts",
  "components",
  "host",
  "render",
  "tsconfig.json",
  "package.json",
  "node_modules",
];

/** Makes `work` a directory from which Pulumi runs this program: links to this checkout's files. */
export function programDir(work: string): string {
  fs.mkdirSync(work, { recursive: true });
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(work, "Pulumi.yaml"));
  for (const f of PROGRAM_FILES) fs.symlinkSync(path.join(ROOT, f), path.join(work, f));
  return work;
}
