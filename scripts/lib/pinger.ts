/**
 * Downtime as a client sees it: polls `GET /_ping` over mutual TLS on each host every `intervalMs`
 * from this machine, while something (a rotation, a renewal) runs, and reports per host the longest
 * time without an answer. Used by the e2e lifecycle suite and by `npm run bench`.
 */
import * as https from "https";

/** A host to poll, with the client bundle to poll it with. */
export interface PingTarget {
  name: string;
  address: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
}

/** What polling one host saw. */
export interface PingReport {
  /** Requests made. */
  polls: number;
  /** Requests without a 200 (refused, reset, timed out, wrong status). */
  failures: number;
  /** The first failure's reason, if any. */
  firstError?: string;
  /**
   * The longest time, in milliseconds, between two successful answers (or between the start and the
   * first one, or the last one and the end): what a client polling this often waited at worst.
   */
  longestGapMs: number;
}

/** One request; resolves with undefined on 200, else the reason. */
function ping(t: PingTarget, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = https.get(
      { host: t.address, port: t.port, path: "/_ping", ca: t.ca, cert: t.cert, key: t.key, agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => resolve(`${(e as NodeJS.ErrnoException).code ?? "error"}: ${e.message}`));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts polling every target; `stop()` ends it and resolves with a report per target name.
 * Each host is polled by its own loop, one request at a time.
 */
export function startPinging(targets: PingTarget[], intervalMs = 50, timeoutMs = 2000): { stop(): Promise<Record<string, PingReport>> } {
  let running = true;
  const loops = targets.map(async (t): Promise<[string, PingReport]> => {
    const report: PingReport = { polls: 0, failures: 0, longestGapMs: 0 };
    let lastAnswer = Date.now();
    while (running) {
      const error = await ping(t, timeoutMs);
      const now = Date.now();
      report.polls++;
      if (error === undefined) {
        report.longestGapMs = Math.max(report.longestGapMs, now - lastAnswer);
        lastAnswer = now;
      } else {
        report.failures++;
        report.firstError ??= error;
      }
      await sleep(intervalMs);
    }
    report.longestGapMs = Math.max(report.longestGapMs, Date.now() - lastAnswer);
    return [t.name, report];
  });
  return {
    async stop() {
      running = false;
      return Object.fromEntries(await Promise.all(loops));
    },
  };
}
