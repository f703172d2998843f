/** PATH for tests that need a host without some tool: links to every other program of this machine. */
import * as fs from "fs";
import * as path from "path";

/**
 * Fills `dir` with links to every program of /usr/bin, /usr/sbin, /bin and /sbin (a merged /usr's
 * links skipped) but `hidden`, and returns it: as PATH, `command -v NAME` finds none of `hidden`.
 */
export function pathWithout(dir: string, hidden: string[]): string {
  for (const bin of ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]) {
    if (!fs.existsSync(bin) || fs.lstatSync(bin).isSymbolicLink()) continue;
    for (const f of fs.readdirSync(bin)) {
      if (hidden.includes(f) || fs.existsSync(path.join(dir, f))) continue;
      fs.symlinkSync(path.join(bin, f), path.join(dir, f));
    }
  }
  return dir;
}
