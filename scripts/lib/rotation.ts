/**
 * The pure parts of `npm run rotate` (scripts/rotate.ts): its command line, which resources of a
 * stack's state a rotation replaces, and what a preview's or an update's engine events say it
 * does. No engine here; the CLI feeds these the Automation API's exported state and events.
 *
 * A rotation replaces a private key and lets Pulumi's dependency graph do the rest:
 * - a host (`--host web1`): `server-web1-key`, hence a new CSR and certificate, new files on the
 *   host (its upload and apply steps' stdin change), and a restart of that host's dockerd only;
 * - a client (`--client ci`): `client-ci-key`, hence a new CSR and certificate. Its issuer
 *   (`client-ci-issuer`) stays: the daemons' bundle of issuers does not change, no dockerd restarts,
 *   and removing the client from the configuration still revokes every certificate it was issued;
 * - the CA (`--ca`): `ca-key`, hence a new CA certificate and every server certificate reissued
 *   (each host restarts); every client's `ca.pem` changes at once.
 */
import * as path from "path";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { CHECK_CLIENT } from "../../config";
import { parseArgs } from "../../sandbox/exec";
import { ROOT } from "./stack";

/** What to rotate: one host's server certificate, one client's certificate, or the CA. */
export type RotationTarget = { kind: "host"; name: string } | { kind: "client"; name: string } | { kind: "ca" };

export interface RotateArgs {
  stack: string;
  target: RotationTarget;
  /** No confirmation asked. */
  yes: boolean;
  /** Stop after the preview's summary. */
  dryRun: boolean;
  sandbox: boolean;
  /** Pass the preview's own output to stderr too (the update's always is). */
  verbose: boolean;
  dir: string;
}

/**
 * The names config.ts accepts for hosts and clients (lowercase letters, digits and inner hyphens,
 * at most 63), so that a name that cannot be in any stack is refused before the stack is read. A
 * unit test keeps this rule in step with config.ts's.
 */
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const USAGE =
  "npm run rotate -- --stack NAME (--host NAME | --client NAME | --ca) [--yes] [--dry-run] [--sandbox] [--dir DIR] [--verbose]";

/** The command line of scripts/rotate.ts (USAGE). */
export function rotateArgs(argv: string[]): RotateArgs {
  const args = parseArgs(argv, { flags: ["ca", "yes", "dry-run", "sandbox", "verbose"], options: ["stack", "host", "client", "dir"] });
  if (args.stack === undefined) throw new Error(`--stack NAME is required (usage: ${USAGE})`);
  const given = [args.host !== undefined && "--host", args.client !== undefined && "--client", args.ca === true && "--ca"].filter(
    (x): x is string => x !== false,
  );
  if (given.length !== 1) {
    const what = given.length === 0 ? "none was given" : `got ${given.join(" and ")}`;
    throw new Error(`give exactly one of --host NAME, --client NAME or --ca (${what})`);
  }
  let target: RotationTarget;
  if (args.host !== undefined) target = { kind: "host", name: args.host };
  else if (args.client !== undefined) target = { kind: "client", name: args.client };
  else target = { kind: "ca" };
  if (target.kind !== "ca" && !NAME.test(target.name)) {
    throw new Error(
      `--${target.kind} ${JSON.stringify(target.name)} is not a ${target.kind} name (lowercase letters, digits and inner hyphens, at most 63)`,
    );
  }
  return {
    stack: args.stack,
    target,
    yes: args.yes === true,
    dryRun: args["dry-run"] === true,
    sandbox: args.sandbox === true,
    verbose: args.verbose === true,
    dir: args.dir !== undefined ? path.resolve(args.dir) : ROOT,
  };
}

/** How the summaries name a target: `server certificate of web1`, `certificate of client ci`, `the CA`. */
export function describeTarget(t: RotationTarget): string {
  switch (t.kind) {
    case "host":
      return `server certificate of ${t.name}`;
    case "client":
      return `certificate of client ${t.name}`;
    case "ca":
      return "the CA";
  }
}

/** A resource of an exported deployment (`stack.exportStack()`): the fields the selection reads. */
export interface StateResource {
  urn: string;
  type: string;
  /** Set on the old half of a replacement that is still pending deletion. */
  delete?: boolean;
}

/**
 * A URN's qualified type (its parents' types and its own, `$`-separated; a resource whose parent
 * is the stack has only its own) and its name: `urn:pulumi:STACK::PROJECT::QUALIFIED_TYPE::NAME`.
 */
export function parseUrn(urn: string): { qualifiedType: string; name: string } {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) throw new Error(`not a Pulumi URN: ${urn}`);
  return { qualifiedType: parts[2], name: parts.slice(3).join("::") };
}

const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
const SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
const LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert";
const REMOTE_COMMAND = "command:remote:Command";

/**
 * The keys a rotation replaces, by qualified type (index.ts and components/): the CA's directly
 * under the stack, a host's under its ServerCertificate, a client's under its ClientCertificate.
 * A client issuer's key is under `ClientCertificate$CertificateAuthority`, so it never matches
 * (client `x`'s issuer key and client `x-issuer`'s key are both named `client-x-issuer-key`).
 */
const KEY_OF = {
  ca: `dockertls:pki:CertificateAuthority$${PRIVATE_KEY}`,
  host: `dockertls:pki:ServerCertificate$${PRIVATE_KEY}`,
  client: `dockertls:pki:ClientCertificate$${PRIVATE_KEY}`,
} as const;

const KEY_NAME = {
  // `ca` (generation 1) or `ca-gN` (index.ts, after a two-phase CA rotation).
  ca: /^(ca(?:-g\d+)?)-key$/,
  host: /^server-(.+)-key$/,
  client: /^client-(.+)-key$/,
} as const;

/** The resources of the state that are live (not the old half of a pending replacement). */
function live(resources: readonly StateResource[]): StateResource[] {
  return resources.filter((r) => r.delete !== true && typeof r.urn === "string" && r.urn.startsWith("urn:pulumi:"));
}

/** The keys of one kind in the state, by the host, client (or `ca`) they belong to. */
function keysOf(resources: readonly StateResource[], kind: RotationTarget["kind"]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const r of live(resources)) {
    if (r.type !== PRIVATE_KEY) continue;
    const { qualifiedType, name } = parseUrn(r.urn);
    const m = qualifiedType === KEY_OF[kind] ? KEY_NAME[kind].exec(name) : null;
    if (m) keys.set(m[1], r.urn);
  }
  return keys;
}

/** The hosts (or clients) whose keys the state holds, sorted: what `--host` (or `--client`) accepts. */
export function knownNames(resources: readonly StateResource[], kind: "host" | "client"): string[] {
  return [...keysOf(resources, kind).keys()].sort();
}

/**
 * The URNs to replace for `target`: one private key. Throws, naming the host or client and the
 * ones the stack has, when the state holds no such key (a typo, or a host not deployed yet).
 */
export function rotationUrns(resources: readonly StateResource[], target: RotationTarget, stack: string): string[] {
  const keys = keysOf(resources, target.kind);
  const generation = (name: string) => Number(/-g(\d+)$/.exec(name)?.[1] ?? 1);
  // The CA that issues the server certificates: the highest generation in the state.
  const currentCa = [...keys.keys()].sort((a, b) => generation(b) - generation(a))[0];
  const key = keys.get(target.kind === "ca" ? (currentCa ?? "ca") : target.name);
  if (key !== undefined) return [key];
  if (target.kind === "ca") throw new Error(`stack ${stack} has no CA key (ca-key) in its state: run pulumi up first`);
  const known = [...keys.keys()].sort();
  const list = known.length ? `its ${target.kind}s: ${known.join(", ")}` : `it has no ${target.kind}s deployed`;
  throw new Error(`${target.kind} ${JSON.stringify(target.name)} is not deployed in stack ${stack} (${list})`);
}

/** What happens to one resource: its steps' ops in one word. */
export type ChangeKind = "replace" | "update" | "create" | "delete";

export interface Change {
  urn: string;
  /** Its name (the last part of its URN). */
  name: string;
  /** Its qualified type (see parseUrn). */
  qualifiedType: string;
  kind: ChangeKind;
}

/** The engine's ops that change a resource, in one word; the others (same, read, refresh, …) are not reported. */
const KIND_OF_OP: Partial<Record<OpType, ChangeKind>> = {
  create: "create",
  update: "update",
  delete: "delete",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
};

/** The one that wins when a resource has several steps (a replacement is a create and a delete). */
const WEIGHT: Record<ChangeKind, number> = { replace: 3, delete: 2, create: 1, update: 0 };

/** The stack itself: its outputs change with everything and say nothing about hosts. */
const ROOT_STACK = "pulumi:pulumi:Stack";

/**
 * The changes that engine events report, one per resource: `planned` reads a preview's
 * resourcePreEvents, `done` an update's resOutputsEvents (a step that finished); `failed` lists
 * the resources whose step failed (resOpFailedEvent).
 */
export function changesFromEvents(events: readonly EngineEvent[], which: "planned" | "done"): { changes: Change[]; failed: Change[] } {
  const changes = new Map<string, Change>();
  const failed = new Map<string, Change>();
  const note = (into: Map<string, Change>, m: { op: OpType; urn: string }, kind: ChangeKind | undefined) => {
    if (kind === undefined) return;
    const { qualifiedType, name } = parseUrn(m.urn);
    if (qualifiedType === ROOT_STACK) return;
    const before = into.get(m.urn);
    if (!before || WEIGHT[kind] > WEIGHT[before.kind]) into.set(m.urn, { urn: m.urn, name, qualifiedType, kind });
  };
  for (const e of events) {
    const m = which === "planned" ? e.resourcePreEvent?.metadata : e.resOutputsEvent?.metadata;
    if (m) note(changes, m, KIND_OF_OP[m.op]);
    const f = e.resOpFailedEvent?.metadata;
    if (f) note(failed, f, KIND_OF_OP[f.op] ?? "update");
  }
  const sorted = (m: Map<string, Change>) => [...m.values()].sort((a, b) => a.name.localeCompare(b.name) || a.urn.localeCompare(b.urn));
  return { changes: sorted(changes), failed: sorted(failed) };
}

const lastType = (qualifiedType: string) => qualifiedType.split("$").pop() as string;

/** The certificate a change reissues, as its component's name (`ca`, `server-web1`, `client-ci`, `client-ci-issuer`). */
function reissuedCertificate(c: Change): string | undefined {
  const type = lastType(c.qualifiedType);
  if ((type !== SELF_SIGNED_CERT && type !== LOCALLY_SIGNED_CERT) || !c.name.endsWith("-cert")) return undefined;
  return c.kind === "replace" || c.kind === "create" ? c.name.slice(0, -"-cert".length) : undefined;
}

/**
 * The host whose dockerd a change restarts: its apply step (DockerHost) runs again, which happens
 * when a file's content changes (its stdin is the files' hashes) and installs the files that the
 * upload step staged just before, then restarts dockerd. A step that failed restarted nothing.
 */
function restartedHost(c: Change): string | undefined {
  return isHostStep(c, "apply") ? /^host-(.+)-apply$/.exec(c.name)?.[1] : undefined;
}

/** Whether a change is a DockerHost's `upload` (stages the files) or `apply` step running again. */
function isHostStep(c: Change, step: "upload" | "apply"): boolean {
  return c.qualifiedType === `dockertls:host:DockerHost$${REMOTE_COMMAND}` && c.kind !== "delete" && c.name.endsWith(`-${step}`);
}

export interface RotationSummary {
  target: RotationTarget;
  /** Certificates reissued, by component name: `ca`, `server-web1`, `client-ci`. */
  reissued: string[];
  /** Hosts whose dockerd restarts on new files. */
  restarts: string[];
  /** Every client's ca.pem changes (the CA certificate is reissued). */
  caChanged: boolean;
  /** Clients with a new certificate to fetch (not the program's own checker, CHECK_CLIENT: nobody fetches it). */
  newClientCertificates: string[];
  /** Clients whose issuer changes: refused by every daemon until they fetch their new certificate. */
  newClientIssuers: string[];
  /** Everything else that changes (audits, endpoint checks and their providers), as `name (kind)`. */
  other: string[];
  /** Resources deleted outright: a rotation never deletes; this means the configuration and state differ. */
  deleted: string[];
  /** Steps that failed (an update only). */
  failed: string[];
}

const uniqSorted = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => x !== undefined))].sort();

/** What the events of a preview (`planned`) or an update (`done`) say a rotation does. */
export function summarize(target: RotationTarget, events: readonly EngineEvent[], which: "planned" | "done"): RotationSummary {
  const { changes, failed } = changesFromEvents(events, which);
  const reissued = uniqSorted(changes.map(reissuedCertificate));
  const restarts = uniqSorted(changes.map(restartedHost));
  const issuers = reissued.filter((n) => /^client-.+-issuer$/.test(n));
  const clientCerts = reissued.filter((n) => n.startsWith("client-") && !issuers.includes(n));
  // A reissued certificate's key and CSR are part of it; staging a host's files, of its restart.
  const explained = (c: Change) =>
    reissuedCertificate(c) !== undefined ||
    restartedHost(c) !== undefined ||
    isHostStep(c, "upload") ||
    (c.qualifiedType.startsWith("dockertls:pki:") && c.kind === "replace");
  return {
    target,
    reissued,
    restarts,
    caChanged: reissued.some((n) => /^ca(-g\d+)?$/.test(n)),
    newClientCertificates: clientCerts.map((n) => n.slice("client-".length)).filter((n) => n !== CHECK_CLIENT),
    newClientIssuers: issuers.map((n) => n.slice("client-".length, -"-issuer".length)).filter((n) => n !== CHECK_CLIENT),
    other: changes.filter((c) => !explained(c) && c.kind !== "delete").map((c) => `${c.name} (${c.kind})`),
    deleted: changes.filter((c) => c.kind === "delete").map((c) => c.name),
    failed: failed.map((c) => `${c.name} (${c.kind})`),
  };
}

/**
 * Why a preview's plan is not the rotation that was asked for, or undefined when it is: each
 * key to replace must be replaced, and nothing deleted (a host or client still in the state but
 * no longer in the configuration would be deleted, its host's files restored: run `pulumi up`).
 */
export function planProblem(urns: readonly string[], events: readonly EngineEvent[]): string | undefined {
  const { changes } = changesFromEvents(events, "planned");
  const byUrn = new Map(changes.map((c) => [c.urn, c]));
  for (const urn of urns) {
    const c = byUrn.get(urn);
    if (c?.kind !== "replace") {
      const { name } = parseUrn(urn);
      const planned = c ? `plans to ${c.kind} ${name} instead of replacing it` : `plans no replacement of ${name}`;
      return `the preview ${planned}: the stack's configuration and state differ; run pulumi up first`;
    }
  }
  const deleted = changes.filter((c) => c.kind === "delete").map((c) => c.name);
  if (deleted.length) {
    return `the preview would delete ${deleted.join(", ")}: the stack's configuration and state differ; run pulumi up first`;
  }
  return undefined;
}

const hosts = (n: number) => `${n} host${n === 1 ? "" : "s"}`;

/**
 * The summary for people, in one line, then a line per note:
 *
 *   rotate server certificate of web1: reissues server-web1; restarts dockerd on web1 (1 host); clients keep working
 *
 * `planned` (a preview's) in the present tense; `done` (an update's) in the past; `failed` (an
 * update that failed) says what was done before the failure.
 */
export function renderSummary(s: RotationSummary, stack: string, phase: "planned" | "done" | "failed"): string {
  const past = phase !== "planned";
  const verb = (present: string, pastTense: string) => (past ? pastTense : present);
  const fetch = (client: string) => `npm run client -- --stack ${stack} --client ${client}`;

  const parts = [
    `${verb("reissues", "reissued")} ${s.reissued.length ? s.reissued.join(", ") : "nothing"}`,
    s.restarts.length
      ? `${verb("restarts", "restarted")} dockerd on ${s.restarts.join(", ")} (${hosts(s.restarts.length)})`
      : `${verb("restarts", "restarted")} no dockerd`,
  ];
  const clients: string[] = [];
  if (s.caChanged) clients.push(`every client needs the new ca.pem (${fetch("NAME")})`);
  for (const c of s.newClientCertificates) {
    clients.push(`client ${c} needs its new certificate (${fetch(c)}); its old one is still accepted until it expires`);
  }
  for (const c of s.newClientIssuers) clients.push(`client ${c} is refused until it fetches its new certificate (${fetch(c)})`);
  parts.push(clients.length ? clients.join("; ") : "clients keep working");

  const what = describeTarget(s.target);
  const headline = { planned: `rotate ${what}`, done: `rotated ${what}`, failed: `rotation of ${what} FAILED; before the failure it` }[
    phase
  ];
  const lines = [`${headline}${phase === "failed" ? " " : ": "}${parts.join("; ")}`];
  if (s.other.length) lines.push(`  also ${verb("changes", "changed")}: ${s.other.join(", ")}`);
  if (s.deleted.length) lines.push(`  ${verb("deletes", "deleted")}: ${s.deleted.join(", ")}`);
  if (s.failed.length) lines.push(`  failed: ${s.failed.join(", ")}`);
  if (s.caChanged && !past) lines.push(...caWarning(stack));
  return `${lines.join("\n")}\n`;
}

/** The warning before a CA rotation: every client breaks until it fetches the new ca.pem. */
export function caWarning(stack: string): string[] {
  return [
    "",
    "WARNING: rotating the CA changes every client's ca.pem at once. Until a client fetches the new bundle",
    `(npm run client -- --stack ${stack} --client NAME), it cannot verify any daemon of this stack and fails`,
    "with a certificate error. Client certificates themselves stay valid (each has its own issuer).",
    "A two-phase CA rotation (trust the old and the new CA for a while, then drop the old) would avoid this;",
    "it is not available yet.",
  ];
}

/**
 * What the user must type to go ahead: `y` for a host or a client, the stack's name for the CA
 * (a slip of `y` must not break every client). Undefined answers (end of input) are a no.
 */
export function confirmation(target: RotationTarget, stack: string): { prompt: string; accepts: (answer: string | undefined) => boolean } {
  if (target.kind === "ca") {
    return {
      prompt: `Type the stack's name (${stack}) to rotate its CA: `,
      accepts: (a) => a !== undefined && a.trim() === stack,
    };
  }
  return {
    prompt: `Rotate the ${describeTarget(target)} in stack ${stack}? [y/N] `,
    accepts: (a) => a !== undefined && /^(y|yes)$/i.test(a.trim()),
  };
}

/**
 * Whether to ask before the update: not with --yes or --dry-run; on a terminal, yes; with no
 * terminal to ask on, an error that says to pass --yes (never a silent go-ahead).
 */
export function confirmationMode(args: Pick<RotateArgs, "yes" | "dryRun">, interactive: boolean): "ask" | "skip" {
  if (args.yes || args.dryRun) return "skip";
  if (!interactive) throw new Error("no terminal to confirm on: pass --yes to rotate without asking (or --dry-run to see the plan only)");
  return "ask";
}
