/**
 * npm run bench -- [--hosts 1,4,8] [--out DIR] [--breakdown 1,8]
 *
 * What the program costs, measured on sandbox hosts (plain kind: sysv init, root): for each fleet
 * size N, a stack of N hosts and one client in a file:// backend of its own, and in one run, side by
 * side, the operations an operator runs:
 *
 *   up from nothing · preview · no-op up --skip-preview · no-op up (with its preview) · adding a
 *   client · one host's log level · one host's server certificate rotated (--replace) · destroy
 *
 * For each: wall time; CPU time of the Pulumi side (the CLI, engine, language host, program and
 * plugins: every process this script waited for, from the kernel's accounting of reaped children,
 * so none of the hosts' own processes); peak memory of the Pulumi side (its process tree's resident
 * memory, sampled every 200 ms); the remote steps run (SSH commands and audits); the dockerd
 * restarts per host (counted in dockerd's own log). During the rotation every host is polled with
 * GET /_ping over TLS every 50 ms (scripts/lib/pinger.ts): the longest gap per host.
 *
 * For the sizes in --breakdown (default 1 and 8), where the time of one preview and one up goes:
 * the engine's events as they arrive (stamped here to the millisecond), by phase: until the engine
 * starts, the language host and program until the first resource registers, each plugin's start
 * (its provider's step), and the steps by kind (keys and certificates, SSH probe/upload/apply,
 * audits, endpoint checks).
 *
 * Writes bench/results/<date>.json and .md (the Markdown table the README shows) and prints the
 * table. The sandbox is brought up to the largest N and taken down at the end. The default run
 * (1, 4 and 8 hosts) takes about 7 minutes on a 2-core machine; `--hosts 1,4,8,32` adds the
 * 32-host fleet (about 20 minutes more). `PULUMI_SKIP_CHECKPOINTS=true npm run bench` measures the
 * same without the engine's checkpoints, and says so in the results.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawn } from "child_process";
import * as sandbox from "../sandbox";
import { parseArgs } from "../sandbox/exec";
import { ROOT } from "./lib/stack";
import { programDir } from "./lib/workdir";
import { PingReport, startPinging } from "./lib/pinger";
import { cpuByKind, descendants, withAccounting } from "./lib/acct";

const CLK_TCK = 100; // Linux's USER_HZ: the unit of /proc/<pid>/stat's times

/** One Pulumi command as measured. */
export interface Measure {
  op: string;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  /** SSH commands (command:remote) and audits (HostAudit) that ran: created, updated, replaced, deleted or read. */
  remoteSteps: number;
  /** dockerd restarts on all hosts, and on the host that had the most. */
  restarts: number;
  maxRestartsPerHost: number;
  /** Resources changed (anything but `same`). */
  changed: number;
  /** The longest gap per host of a client polling /_ping every 50 ms, when polled. */
  pingGapMs?: Record<string, number>;
  pingFailures?: number;
  /** cpuS split by kind of process (engine, language host, program, plugins, …), when process accounting was available. */
  cpuByProcess?: Record<string, number>;
}

/** An engine event with the time (ms since the command started) it reached this script. */
export interface StampedEvent {
  at: number;
  event: Record<string, unknown> & {
    preludeEvent?: unknown;
    summaryEvent?: { resourceChanges?: Record<string, number> };
    resourcePreEvent?: { metadata: StepMetadata };
    resOutputsEvent?: { metadata: StepMetadata };
  };
}
export interface StepMetadata {
  op: string;
  urn: string;
  type: string;
}

/** Where one command's time went. */
export interface Breakdown {
  op: string;
  hosts: number;
  wallS: number;
  /** Wall-clock phases, in seconds. */
  phases: Record<string, number>;
  /** Steps by kind: how many, their summed and longest duration in seconds (steps run in parallel, so sums exceed the wall time). */
  steps: Record<string, { count: number; sumS: number; maxS: number }>;
}

/** The fields of a /proc/<pid>/stat line after "(comm) ", which may itself hold spaces and parentheses: the state is [0]. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** The sum of utime+stime of this process's reaped children, in seconds. */
function childrenCpuSeconds(): number {
  const fields = statFields(fs.readFileSync("/proc/self/stat", "utf8"));
  // proc(5) numbers state 3, cutime 16 and cstime 17: here 0, 13 and 14.
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

/** The resident memory, in MB, of `root` and all its descendants now. */
function treeRssMb(root: number): number {
  const live: { pid: number; ppid: number; rssMb: number }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(fs.readFileSync(`/proc/${entry}/stat`, "utf8"));
      live.push({ pid: Number(entry), ppid: Number(fields[1]), rssMb: (Number(fields[21]) * 4096) / 2 ** 20 });
    } catch {
      // gone meanwhile
    }
  }
  return descendants(live, root).reduce((total, p) => total + p.rssMb, 0);
}

export interface RunResult {
  wallS: number;
  cpuS: number;
  /** The same CPU split by kind of process (scripts/lib/acct.ts), when process accounting could be turned on. */
  cpuByProcess?: Record<string, number>;
  peakRssMb: number;
  events: StampedEvent[];
  output: string;
}

/**
 * Runs `pulumi ARGS --event-log FILE` in `work`, reading the event log as it grows (every 20 ms) to
 * stamp each event, and sampling the process tree's memory every 200 ms.
 */
async function runPulumi(work: string, env: Record<string, string>, args: string[], input?: string): Promise<RunResult> {
  const logFile = path.join(work, `events-${Date.now()}.jsonl`);
  // The engine's commands take --event-log, and only their CPU is split by process.
  const engine = ["up", "preview", "destroy"].includes(args[0]);
  const cpu0 = childrenCpuSeconds();
  let pid: number | undefined;
  const spawned = () => spawnPulumi(work, env, args, input, engine ? logFile : undefined, (p) => (pid = p));
  const accounted = engine ? await withAccounting(`${logFile}.acct`, spawned) : { result: await spawned(), records: undefined };
  const { code, output, events, wallS, peak } = accounted.result;
  if (code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${code}):\n${output.slice(-4000)}`);
  const cpuByProcess = accounted.records && pid !== undefined ? cpuByKind(descendants(accounted.records, pid)) : undefined;
  return { wallS, cpuS: childrenCpuSeconds() - cpu0, peakRssMb: peak, events, output, ...(cpuByProcess ? { cpuByProcess } : {}) };
}

/** Spawns the CLI and collects its output, its stamped events and the peak memory of its tree. */
async function spawnPulumi(
  work: string,
  env: Record<string, string>,
  args: string[],
  input: string | undefined,
  logFile: string | undefined,
  started: (pid: number | undefined) => void,
): Promise<{ code: number; output: string; events: StampedEvent[]; wallS: number; peak: number }> {
  const events: StampedEvent[] = [];
  const t0 = Date.now();
  const engine = logFile !== undefined;
  const extra = engine ? ["--non-interactive", "--color", "never", "--event-log", logFile] : ["--non-interactive"];
  const child = spawn("pulumi", [...args, ...extra], {
    cwd: work,
    // The CLI offers --event-log only with PULUMI_DEBUG_COMMANDS (as the Automation API sets it).
    env: { ...process.env, ...env, ...(engine ? { PULUMI_DEBUG_COMMANDS: "true" } : {}) },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  started(child.pid);
  child.stdin?.end(input);
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  let peak = 0;
  let offset = 0;
  let partial = "";
  const readEvents = (file: string) => {
    let text: string;
    try {
      const fd = fs.openSync(file, "r");
      const buf = Buffer.alloc(1 << 20);
      let n: number;
      text = "";
      while ((n = fs.readSync(fd, buf, 0, buf.length, offset)) > 0) {
        text += buf.toString("utf8", 0, n);
        offset += n;
      }
      fs.closeSync(fd);
    } catch {
      return; // not there yet
    }
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    const at = Date.now() - t0;
    for (const l of lines) if (l.trim()) events.push({ at, event: JSON.parse(l) as StampedEvent["event"] });
  };
  // Only the engine's commands write events (and are worth sampling): config and stack commands are not.
  const poll = engine ? setInterval(() => readEvents(logFile), 20) : undefined;
  const sample = engine
    ? setInterval(() => {
        if (child.pid !== undefined) peak = Math.max(peak, treeRssMb(child.pid));
      }, 200)
    : undefined;
  const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  clearInterval(poll);
  clearInterval(sample);
  if (engine) {
    readEvents(logFile);
    fs.rmSync(logFile, { force: true });
  }
  return { code, output, events, wallS: (Date.now() - t0) / 1000, peak };
}

/** Steps that ran a command on a host over SSH: the remote commands and the audits' inspections. */
function isRemoteStep(m: StepMetadata): boolean {
  return (m.type === "command:remote:Command" || m.type.endsWith(":HostAuditState")) && !["same", "discard"].includes(m.op);
}

/** The kind of a step, for the breakdown. */
export function stepKind(m: StepMetadata): string {
  const name = m.urn.split("::").at(-1) ?? "";
  if (m.type.startsWith("pulumi:providers:")) return `plugin start: ${m.type.slice("pulumi:providers:".length)}`;
  if (m.type.startsWith("tls:")) return "keys and certificates (tls)";
  if (m.type === "command:remote:Command") return `ssh: ${name.split("-").at(-1)}`;
  if (m.type.endsWith(":HostAuditState")) return "audit (ssh inspect, TLS check)";
  if (m.type === "command:local:Command" || m.type.startsWith("docker:")) return "endpoint check (docker over TLS)";
  // The stack and the program's components (dockertls:*): their steps span their children's.
  return "components";
}

/** Where a command's time went, from its stamped events. */
export function breakdown(op: string, hosts: number, r: Pick<RunResult, "wallS" | "events">): Breakdown {
  const pre = new Map<string, number>();
  const steps: Breakdown["steps"] = {};
  const prelude = r.events.find((e) => e.event.preludeEvent)?.at ?? 0;
  let stackRegistered: number | undefined;
  let firstResource: number | undefined;
  let lastStepEnd = 0;
  for (const { at, event } of r.events) {
    const started = event.resourcePreEvent?.metadata;
    if (started) {
      pre.set(started.urn, at);
      if (started.type === "pulumi:pulumi:Stack") stackRegistered ??= at;
      else firstResource ??= at;
    }
    const done = event.resOutputsEvent?.metadata;
    if (done && pre.has(done.urn)) {
      lastStepEnd = Math.max(lastStepEnd, at);
      const kind = stepKind(done);
      // The stack and the components span their children: their own time is nothing of theirs.
      if (kind === "components") continue;
      const s = (steps[kind] ??= { count: 0, sumS: 0, maxS: 0 });
      const d = (at - pre.get(done.urn)!) / 1000;
      s.count++;
      s.sumS = round(s.sumS + d);
      s.maxS = round(Math.max(s.maxS, d));
    }
  }
  const stack = stackRegistered ?? prelude;
  const first = firstResource ?? stack;
  return {
    op,
    hosts,
    wallS: round(r.wallS),
    phases: {
      "CLI start until the engine's first event": round(prelude / 1000),
      "language host start, until the program registers its stack": round((stack - prelude) / 1000),
      "program load (compile, imports) until its first resource": round((first - stack) / 1000),
      "first resource until the last step ends": round((Math.max(lastStepEnd, first) - first) / 1000),
      "after the last step (summary, state written, exit)": round(r.wallS - Math.max(lastStepEnd, first) / 1000),
    },
    steps,
  };
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Fleet {
  hosts: { name: string; address: string }[];
  work: string;
  env: Record<string, string>;
  stack: string;
}

/** dockerd starts per host. */
async function starts(fleet: Fleet): Promise<number[]> {
  return Promise.all(fleet.hosts.map((h) => sandbox.daemonStarts(h.address, "plain")));
}

function setConfig(fleet: Fleet, key: string, value: string, secret = false): Promise<RunResult> {
  // The value on stdin: a key's PEM starts with "-", which the CLI would take for a flag.
  return runPulumi(fleet.work, fleet.env, ["config", "set", "--stack", fleet.stack, ...(secret ? ["--secret"] : []), key], value);
}

const hostsConfig = (fleet: Fleet, debugFirst: boolean) =>
  JSON.stringify(
    fleet.hosts.map((h, i) => ({
      name: h.name,
      address: h.address,
      init: "sysv",
      ...(debugFirst && i === 0 ? { daemon: { logLevel: "debug" } } : {}),
    })),
  );

/** Runs one measured operation on the fleet. */
async function measure(fleet: Fleet, op: string, args: string[], opts: { ping?: boolean } = {}): Promise<{ m: Measure; r: RunResult }> {
  const before = await starts(fleet);
  let pinger: { stop(): Promise<Record<string, PingReport>> } | undefined;
  if (opts.ping) {
    const out = JSON.parse(
      (await runPulumi(fleet.work, fleet.env, ["stack", "output", "--json", "--show-secrets", "--stack", fleet.stack])).output,
    ) as { caCertPem: string; clientCertificates: Record<string, { certPem: string; keyPem: string }> };
    const ci = out.clientCertificates.ci;
    pinger = startPinging(
      fleet.hosts.map((h) => ({ name: h.name, address: h.address, port: 2376, ca: out.caCertPem, cert: ci.certPem, key: ci.keyPem })),
    );
  }
  let r: RunResult;
  let pings: Record<string, PingReport> | undefined;
  try {
    r = await runPulumi(fleet.work, fleet.env, [...args, "--stack", fleet.stack]);
  } finally {
    pings = await pinger?.stop();
  }
  const after = await starts(fleet);
  const perHost = after.map((a, i) => a - before[i]);
  const done = r.events.map((e) => e.event.resOutputsEvent?.metadata).filter((m): m is StepMetadata => m !== undefined);
  const m: Measure = {
    op,
    wallS: round(r.wallS, 1),
    cpuS: round(r.cpuS, 1),
    peakRssMb: Math.round(r.peakRssMb),
    remoteSteps: done.filter(isRemoteStep).length,
    restarts: perHost.reduce((a, b) => a + b, 0),
    maxRestartsPerHost: Math.max(0, ...perHost),
    changed: done.filter((d) => !["same", "read", "refresh"].includes(d.op)).length,
    ...(r.cpuByProcess && { cpuByProcess: r.cpuByProcess }),
    ...(pings && {
      pingGapMs: Object.fromEntries(Object.entries(pings).map(([h, p]) => [h, p.longestGapMs])),
      pingFailures: Object.values(pings).reduce((a, p) => a + p.failures, 0),
    }),
  };
  return { m, r };
}

/** The size of the stack's state file in a file:// backend (the engine rewrites it whole at every checkpoint). */
function stackStateBytes(backendDir: string): number {
  const stacks = path.join(backendDir, ".pulumi", "stacks");
  const files = fs.readdirSync(stacks, { recursive: true, encoding: "utf8" }).filter((f) => /\.json(\.gz)?$/.test(f));
  return Math.max(0, ...files.map((f) => fs.statSync(path.join(stacks, f)).size));
}

/** The whole run for a fleet of `n` hosts. */
async function benchFleet(
  n: number,
  tmp: string,
  breakdownFor: boolean,
): Promise<{ measures: Measure[]; breakdowns: Breakdown[]; resources: number; stateBytes: number }> {
  const status = await sandbox.up({ hosts: n, kind: "plain" });
  const dir = path.join(tmp, `n${n}`);
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  const fleet: Fleet = {
    hosts: status.hosts.slice(0, n).map((h) => ({ name: h.name, address: h.address })),
    work: programDir(path.join(dir, "program")),
    env: { PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "bench" },
    stack: `bench${n}`,
  };
  await runPulumi(fleet.work, fleet.env, ["stack", "init", fleet.stack]);
  await setConfig(fleet, "docker-tls:sshPrivateKey", fs.readFileSync(sandbox.CLIENT_KEY, "utf8"), true);
  await setConfig(fleet, "docker-tls:sshKnownHostsPath", sandbox.KNOWN_HOSTS);
  await setConfig(fleet, "docker-tls:clients", JSON.stringify([{ name: "ci" }]));
  await setConfig(fleet, "docker-tls:hosts", hostsConfig(fleet, false));

  const measures: Measure[] = [];
  const breakdowns: Breakdown[] = [];
  const step = async (op: string, args: string[], opts: { ping?: boolean; breakdown?: boolean } = {}) => {
    const { m, r } = await measure(fleet, op, args, opts);
    measures.push(m);
    if (opts.breakdown && breakdownFor) breakdowns.push(breakdown(op, n, r));
    const split = m.cpuByProcess
      ? ` (${Object.entries(m.cpuByProcess)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`
      : "";
    console.error(`  ${n} host(s): ${op}: ${m.wallS} s wall, ${m.cpuS} s CPU${split}, ${m.restarts} restart(s)`);
    return r;
  };
  let stateBytes = 0;
  try {
    await step("up from nothing", ["up", "--yes", "--skip-preview"], { breakdown: true });
    stateBytes = stackStateBytes(path.join(dir, "state"));
    await step("preview", ["preview"], { breakdown: true });
    await step("no-op up --skip-preview", ["up", "--yes", "--skip-preview"]);
    await step("no-op up", ["up", "--yes"]);
    await setConfig(fleet, "docker-tls:clients", JSON.stringify([{ name: "ci" }, { name: "bench" }]));
    await step("add a client", ["up", "--yes", "--skip-preview"]);
    await setConfig(fleet, "docker-tls:hosts", hostsConfig(fleet, true));
    await step("one host's log level", ["up", "--yes", "--skip-preview"]);
    const urn = `urn:pulumi:${fleet.stack}::docker-tls::dockertls:pki:ServerCertificate$tls:index/locallySignedCert:LocallySignedCert::server-${fleet.hosts[0].name}-cert`;
    await step("rotate one host's server certificate", ["up", "--yes", "--skip-preview", "--replace", urn], { ping: true });
  } catch (e) {
    // Take the hosts back anyway, but report what failed first.
    await runPulumi(fleet.work, fleet.env, ["destroy", "--yes", "--skip-preview", "--stack", fleet.stack]).catch(() => undefined);
    throw e;
  }
  await step("destroy", ["destroy", "--yes", "--skip-preview"]);
  return { measures, breakdowns, resources: measures[0].changed, stateBytes };
}

/** The Markdown table of a run. */
export function markdown(
  results: { hosts: number; resources: number; stateBytes?: number; measures: Measure[] }[],
  machine: string,
): string {
  const ops = results[0]?.measures.map((m) => m.op) ?? [];
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Wall time / Pulumi-side CPU, in seconds; restarts: dockerd restarts in all (most on one host).`,
    "",
    `| operation | ${results.map((r) => `${r.hosts} host${r.hosts === 1 ? "" : "s"} (${r.resources} resources${r.stateBytes ? `, state ${Math.round(r.stateBytes / 1024)} KB` : ""})`).join(" | ")} |`,
    `|---|${results.map(() => "---").join("|")}|`,
  ];
  for (const op of ops) {
    const cells = results.map((r) => {
      const m = r.measures.find((x) => x.op === op);
      if (!m) return "";
      const gap = m.pingGapMs ? `, /_ping gap ≤ ${Math.max(...Object.values(m.pingGapMs))} ms` : "";
      return `${m.wallS} / ${m.cpuS} s, ${m.remoteSteps} remote, ${m.restarts} (${m.maxRestartsPerHost}) restarts, ${m.peakRssMb} MB${gap}`;
    });
    lines.push(`| ${op} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Engine settings taken from the environment, like every other variable, and named in the results
 * when set: PULUMI_SKIP_CHECKPOINTS=true shows what the engine's checkpoints cost (README).
 */
const ENGINE_SETTINGS = ["PULUMI_SKIP_CHECKPOINTS"];

async function main(): Promise<void> {
  const flags = parseArgs(process.argv.slice(2), { options: ["hosts", "out", "breakdown"] });
  const sizes = (flags.hosts ?? "1,4,8").split(",").map(Number);
  const breakdownSizes = new Set((flags.breakdown ?? "1,8").split(",").map(Number));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 32))
    throw new Error(`--hosts: ${flags.hosts} is not a list of sizes from 1 to 32`);
  const outDir = path.resolve(flags.out ?? path.join(ROOT, "bench", "results"));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-bench-"));
  // The engine settings that change what is measured (the README compares runs with and without).
  const engine = ENGINE_SETTINGS.filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
  const machine =
    `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Linux ${os.release()}` +
    (engine.length > 0 ? `, with ${engine.join(" ")}` : "");
  const results: { hosts: number; resources: number; stateBytes: number; measures: Measure[]; breakdowns: Breakdown[] }[] = [];
  const started = Date.now();
  try {
    for (const n of sizes) {
      console.error(`bench: ${n} host(s)`);
      results.push({ hosts: n, ...(await benchFleet(n, tmp, breakdownSizes.has(n))) });
    }
  } finally {
    await sandbox.down();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const table = markdown(results, machine);
  const date = new Date()
    .toISOString()
    .replace(/:\d\d\.\d+Z$/, "")
    .replace(":", "");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, `${date}.json`),
    JSON.stringify({ machine, durationS: round((Date.now() - started) / 1000, 0), results }, null, 2) + "\n",
  );
  fs.writeFileSync(path.join(outDir, `${date}.md`), table);
  console.log(table);
  for (const r of results) for (const b of r.breakdowns) console.log(`${b.hosts} host(s), ${b.op}: ${JSON.stringify(b, null, 2)}`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`bench: ${e.message}`);
    process.exit(1);
  });
}
