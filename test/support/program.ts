/** The program as the e2e suites run it: a work dir of its own that links to this checkout. */
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../../sandbox";

export const ROOT = path.resolve(__dirname, "..", "..");

/** What the program needs at run time; Pulumi.yaml is copied (stack settings are written beside it). */
const PROGRAM_FILES = [
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

/** Makes `work` a directory from which Pulumi runs this program. */
export function programDir(work: string): string {
  fs.mkdirSync(work, { recursive: true });
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(work, "Pulumi.yaml"));
  for (const f of PROGRAM_FILES) fs.symlinkSync(path.join(ROOT, f), path.join(work, f));
  return work;
}

/**
 * A suite's teardown: destroys `stack` (when it was made) and removes it, then takes the sandbox
 * down and removes `tmp`, each step whatever the one before it did.
 */
export async function tearDown(stack: Stack | undefined, tmp: string): Promise<void> {
  try {
    try {
      if (stack) await stack.destroy({ color: "never" });
    } finally {
      if (stack) await stack.workspace.removeStack(stack.name, { force: true });
    }
  } finally {
    await sandbox.down();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
