/**
 * The dynamic provider behind HostAudit's state resource (see components/hostAudit.ts): read
 * inspects the host; create and update inspect, heal through DockerHost's upload and apply scripts when
 * something differs, and inspect again; diff plans drift as a replacement.
 *
 * Pulumi stores `provider` in the state by closure serialization (pulumi.runtime.serializeFunction)
 * and runs it later in the dynamic-provider process, which has no ts-node and does not load this
 * project's modules. What the methods call is captured by value: the functions of ./compare.ts and
 * ./inspect.ts, render/scripts.ts's renderInspectScript with the text of render/sh/inspect.sh (a
 * string, read when render/scripts.ts loads on the program's side). Modules are required inside
 * the functions that use them (`crypto` here; `tls` and `ssh2` in ./inspect.ts). Nothing secret is
 * captured: the SSH key arrives with each call's inputs. test/unit/driftProgram.test.ts and
 * test/unit/auditSerialization.test.ts load the serialized provider as that process does.
 *
 * Its own errors are plain Errors: the engine reports them with the resource.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as cryptoModule from "crypto";
import {
  HostAuditInputs,
  HostAuditOutputs,
  OTHER_INPUTS,
  Observed,
  SETTINGS,
  compareAudit,
  containsUnknown,
  desiredOf,
  observedAsInputs,
  sameJson,
  topKey,
} from "./compare";
import { inspectHost, sshExec } from "./inspect";

/** How many times, and how many milliseconds apart, a healed host is inspected until it matches. */
const HEAL_CHECKS = 10;
const HEAL_CHECK_INTERVAL_MS = 2000;

/** Inspects, heals through the apply script when something differs, and inspects again. */
export async function auditAndHeal(inputs: HostAuditInputs): Promise<Observed> {
  let observed = await inspectHost(inputs);
  if (observed.reachable === false) throw new Error(`host ${inputs.host}: ${observed.error}`);
  const expected = desiredOf(inputs);
  const drift = compareAudit(expected, observed);
  if (drift.length === 0) return observed;
  const timeoutMs = inputs.timeoutSeconds * 1000;
  // Stage first: the apply step installs only staged files, and after a successful apply none are left.
  const staged = await sshExec(inputs.connection, inputs.heal.upload.command, inputs.heal.upload.payload, timeoutMs);
  if (staged.code !== 0) {
    throw new Error(
      `host ${inputs.host}: healing (${drift.map((d) => d.text).join("; ")}) failed:\n${(staged.stderr || staged.stdout).trim()}`,
    );
  }
  const r = await sshExec(inputs.connection, inputs.heal.command, inputs.heal.manifest, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`host ${inputs.host}: healing (${drift.map((d) => d.text).join("; ")}) failed:\n${(r.stderr || r.stdout).trim()}`);
  }
  // dockerd listens (what the apply script waits for) a moment before it serves: look again for a while.
  let left = drift;
  for (let i = 0; i < HEAL_CHECKS; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, HEAL_CHECK_INTERVAL_MS));
    observed = await inspectHost(inputs);
    left = compareAudit(expected, observed);
    if (left.length === 0) return observed;
  }
  throw new Error(`host ${inputs.host}: still differs after the apply script ran: ${left.map((d) => d.text).join("; ")}`);
}

/**
 * The provider. Its inputs are HostAuditInputs; its outputs the same, with `observed`.
 */
export const provider: pulumi.dynamic.ResourceProvider<HostAuditInputs, HostAuditOutputs> = {
  /**
   * Drift on the host (the last observation differs from what was wanted then), or a host that
   * could not be inspected: replace, so that the heal runs as a create (see hostAudit.ts on why).
   * A changed desired state with no drift (the host's apply step changes the host in the same run):
   * update, which inspects again. Unknowns (preview): update.
   */
  diff: async (_id, olds, news) => {
    const drift = compareAudit(desiredOf(olds), olds.observed);
    if (drift.length > 0) return { changes: true, replaces: [...new Set(drift.map((d) => topKey(d.key)))] };
    if (containsUnknown(news)) return { changes: true };
    const o = olds as unknown as Record<string, unknown>;
    const n = news as unknown as Record<string, unknown>;
    const files = [...Object.keys(o), ...Object.keys(n)].filter((k) => k.startsWith("/"));
    return { changes: [...OTHER_INPUTS, ...SETTINGS, ...files].some((k) => !sameJson(o[k], n[k])) };
  },
  create: async (inputs) => {
    const observed = await auditAndHeal(inputs);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- required where it runs (see the module's comment)
    const crypto = require("crypto") as typeof cryptoModule;
    const id = `${inputs.host}-${crypto.randomBytes(4).toString("hex")}`;
    return { id, outs: { ...inputs, observed } };
  },
  read: async (id, props) => {
    const p = props as HostAuditOutputs;
    const observed = await inspectHost(p);
    return { id, props: { ...p, observed }, inputs: observedAsInputs(p, observed) as unknown as HostAuditOutputs };
  },
  update: async (_id, _olds, news) => ({ outs: { ...news, observed: await auditAndHeal(news) } }),
  // The host's files belong to DockerHost (its apply step restores them on destroy): nothing to do.
  delete: async () => {},
};
