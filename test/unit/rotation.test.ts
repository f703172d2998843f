/**
 * `npm run rotate` without an engine: its command line, which key of a stack's state it replaces
 * (a synthetic exported deployment, with the URNs index.ts's components give), what a preview's
 * or an update's engine events say it does, and when it asks first. The real engine on sandbox
 * hosts is the e2e suite's.
 */
import * as path from "path";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { CHECK_CLIENT, parseConfig } from "../../config";
import {
  StateResource,
  changesFromEvents,
  confirmation,
  confirmationMode,
  knownNames,
  parseUrn,
  planProblem,
  renderSummary,
  rotateArgs,
  rotationUrns,
  summarize,
} from "../../scripts/lib/rotation";
import { ROOT } from "../../scripts/lib/stack";
import { FAKE_SSH_KEY } from "../support/config";

const KEY = "tls:index/privateKey:PrivateKey";
const CSR = "tls:index/certRequest:CertRequest";
const SELF = "tls:index/selfSignedCert:SelfSignedCert";
const SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
const CMD = "command:remote:Command";

/** A URN as Pulumi makes it for stack prod of this project: the parents' types, then the resource's. */
const urn = (qualifiedType: string, name: string) => `urn:pulumi:prod::docker-tls::${qualifiedType}::${name}`;
const res = (qualifiedType: string, name: string, extra: Partial<StateResource> = {}): StateResource => ({
  urn: urn(qualifiedType, name),
  type: qualifiedType.split("$").pop() as string,
  ...extra,
});

const CA = "dockertls:pki:CertificateAuthority";
const SERVER = "dockertls:pki:ServerCertificate";
const CLIENT = "dockertls:pki:ClientCertificate";
const ISSUER = `${CLIENT}$${CA}`;
const HOST = "dockertls:host:DockerHost";

const client = (name: string) => [
  res(CLIENT, `client-${name}`),
  res(ISSUER, `client-${name}-issuer`),
  res(`${ISSUER}$${KEY}`, `client-${name}-issuer-key`),
  res(`${ISSUER}$${SELF}`, `client-${name}-issuer-cert`),
  res(`${CLIENT}$${KEY}`, `client-${name}-key`),
  res(`${CLIENT}$${CSR}`, `client-${name}-csr`),
  res(`${CLIENT}$${SIGNED}`, `client-${name}-cert`),
];
const host = (name: string) => [
  res(SERVER, `server-${name}`),
  res(`${SERVER}$${KEY}`, `server-${name}-key`),
  res(`${SERVER}$${CSR}`, `server-${name}-csr`),
  res(`${SERVER}$${SIGNED}`, `server-${name}-cert`),
  res(HOST, `host-${name}`),
  ...["probe", "upload", "apply"].map((s) => res(`${HOST}$${CMD}`, `host-${name}-${s}`)),
  res("dockertls:host:HostAudit", `audit-${name}`),
  res("dockertls:host:HostAudit$pulumi-nodejs:dynamic:Resource", `audit-${name}-state`),
  res("dockertls:host:EndpointCheck", `check-${name}`),
  res("dockertls:host:EndpointCheck$pulumi:providers:docker", `check-${name}-provider`),
];

/** A deployed stack: the CA, clients ci and alice (and the checker), hosts web1 and web2. */
const STATE: StateResource[] = [
  res("pulumi:pulumi:Stack", "docker-tls-prod"),
  res("pulumi:providers:tls", "default_5_6_1"),
  res(CA, "ca"),
  res(`${CA}$${KEY}`, "ca-key"),
  res(`${CA}$${SELF}`, "ca-cert"),
  ...client("ci"),
  ...client("alice"),
  ...client(CHECK_CLIENT),
  ...host("web1"),
  ...host("web2"),
];

describe("the command line", () => {
  test("one of --host, --client or --ca, and the stack", () => {
    expect(rotateArgs(["--stack", "prod", "--host", "web1"])).toEqual({
      stack: "prod",
      target: { kind: "host", name: "web1" },
      yes: false,
      dryRun: false,
      sandbox: false,
      verbose: false,
      dir: ROOT,
    });
    expect(rotateArgs(["--stack", "prod", "--client=ci", "--yes"])).toMatchObject({ target: { kind: "client", name: "ci" }, yes: true });
    expect(rotateArgs(["--stack", "dev", "--ca", "--dry-run", "--sandbox", "--dir", "/tmp/w"])).toMatchObject({
      target: { kind: "ca" },
      dryRun: true,
      sandbox: true,
      dir: path.resolve("/tmp/w"),
    });
  });

  test("exactly one target: none, two, or all three are errors that say which were given", () => {
    expect(() => rotateArgs(["--stack", "prod"])).toThrow("give exactly one of --host NAME, --client NAME or --ca (none was given)");
    expect(() => rotateArgs(["--stack", "prod", "--host", "web1", "--ca"])).toThrow("(got --host and --ca)");
    expect(() => rotateArgs(["--stack", "prod", "--host", "a", "--client", "b", "--ca"])).toThrow("(got --host and --client and --ca)");
  });

  test("--stack is required: no default stack for a command that changes one", () => {
    expect(() => rotateArgs(["--host", "web1"])).toThrow(/^--stack NAME is required \(usage: npm run rotate -- /);
  });

  test("a misspelt flag, a flag for a name, and --ca with a value stop the command", () => {
    expect(() => rotateArgs(["--stack", "prod", "--host", "web1", "--yse"])).toThrow('unknown argument "--yse"');
    expect(() => rotateArgs(["--stack", "prod", "--host", "--yes"])).toThrow("--host needs a value");
    expect(() => rotateArgs(["--stack", "prod", "--ca=yes"])).toThrow('unknown argument "--ca=yes"');
  });

  test("names: what config.ts accepts for hosts and clients, and nothing else", () => {
    const names = ["web1", "a", "web-1", "0", "a".repeat(63), "a".repeat(64), "-web", "web-", "Web1", "web_1", "web.1", "", " web1"];
    const configAccepts = (kind: "hosts" | "clients", name: string) => {
      const raw = { hosts: [{ name: "h", address: "192.0.2.10" }], sshPrivateKeyPath: "/id", insecureSkipHostKeyCheck: true };
      const entry = kind === "hosts" ? { hosts: [{ name, address: "192.0.2.10" }] } : { clients: [{ name }] };
      try {
        parseConfig({ ...raw, ...entry }, () => FAKE_SSH_KEY);
        return true;
      } catch {
        return false;
      }
    };
    const rotateAccepts = (flag: string, name: string) => {
      try {
        rotateArgs(["--stack", "prod", flag, name]);
        return true;
      } catch {
        return false;
      }
    };
    for (const name of names) {
      expect([name, rotateAccepts("--host", name)]).toEqual([name, configAccepts("hosts", name)]);
      expect([name, rotateAccepts("--client", name)]).toEqual([name, configAccepts("clients", name)]);
    }
    expect(() => rotateArgs(["--stack", "prod", "--host", "Web1"])).toThrow(
      '--host "Web1" is not a host name (lowercase letters, digits and inner hyphens, at most 63)',
    );
    // The program's own checker is not a client of the config, but its key can be rotated too.
    expect(rotateArgs(["--stack", "prod", "--client", CHECK_CLIENT]).target).toEqual({ kind: "client", name: CHECK_CLIENT });
  });
});

describe("which key a rotation replaces", () => {
  test("URNs: qualified type and name", () => {
    expect(parseUrn(urn(`${CA}$${KEY}`, "ca-key"))).toEqual({ qualifiedType: `${CA}$${KEY}`, name: "ca-key" });
    expect(() => parseUrn("ca-key")).toThrow("not a Pulumi URN: ca-key");
  });

  test("a host: its server key; a client: its own key, not its issuer's; the CA: ca-key", () => {
    expect(rotationUrns(STATE, { kind: "host", name: "web1" }, "prod")).toEqual([urn(`${SERVER}$${KEY}`, "server-web1-key")]);
    expect(rotationUrns(STATE, { kind: "client", name: "ci" }, "prod")).toEqual([urn(`${CLIENT}$${KEY}`, "client-ci-key")]);
    expect(rotationUrns(STATE, { kind: "ca" }, "prod")).toEqual([urn(`${CA}$${KEY}`, "ca-key")]);
    expect(rotationUrns(STATE, { kind: "client", name: CHECK_CLIENT }, "prod")).toEqual([
      urn(`${CLIENT}$${KEY}`, `client-${CHECK_CLIENT}-key`),
    ]);
  });

  test("during a two-phase CA rotation: the current generation's key (ca-g2), not the previous one's", () => {
    const rotating = [...STATE, res(`${CA}$${KEY}`, "ca-g2-key")];
    expect(rotationUrns(rotating, { kind: "ca" }, "prod")).toEqual([urn(`${CA}$${KEY}`, "ca-g2-key")]);
  });

  test("the hosts and clients a stack has, from their keys", () => {
    expect(knownNames(STATE, "host")).toEqual(["web1", "web2"]);
    expect(knownNames(STATE, "client")).toEqual(["alice", "ci", CHECK_CLIENT]);
  });

  test("client x-issuer's key and client x's issuer key share a name; the parents tell them apart", () => {
    const state = [...client("x"), ...client("x-issuer")];
    const both = state.filter((r) => r.urn.endsWith("::client-x-issuer-key"));
    expect(both).toHaveLength(2);
    expect(knownNames(state, "client")).toEqual(["x", "x-issuer"]);
    expect(rotationUrns(state, { kind: "client", name: "x-issuer" }, "prod")).toEqual([urn(`${CLIENT}$${KEY}`, "client-x-issuer-key")]);
    // Without client x-issuer, client x's issuer key is not taken for it.
    expect(() => rotationUrns(client("x"), { kind: "client", name: "x-issuer" }, "prod")).toThrow(
      'client "x-issuer" is not deployed in stack prod (its clients: x)',
    );
  });

  test("an unknown host or client is an error naming it and listing the stack's", () => {
    expect(() => rotationUrns(STATE, { kind: "host", name: "web3" }, "prod")).toThrow(
      'host "web3" is not deployed in stack prod (its hosts: web1, web2)',
    );
    expect(() => rotationUrns(STATE, { kind: "client", name: "bob" }, "prod")).toThrow(
      `client "bob" is not deployed in stack prod (its clients: alice, ci, ${CHECK_CLIENT})`,
    );
    // A host is not a client, and the reverse.
    expect(() => rotationUrns(STATE, { kind: "client", name: "web1" }, "prod")).toThrow('client "web1" is not deployed');
    expect(() => rotationUrns([], { kind: "host", name: "web1" }, "prod")).toThrow(
      'host "web1" is not deployed in stack prod (it has no hosts deployed)',
    );
    expect(() => rotationUrns([], { kind: "ca" }, "prod")).toThrow("stack prod has no CA key (ca-key) in its state: run pulumi up first");
  });

  test("the old half of a pending replacement is not a candidate", () => {
    const pending = res(`${SERVER}$${KEY}`, "server-web9-key", { delete: true });
    expect(knownNames([...STATE, pending], "host")).toEqual(["web1", "web2"]);
  });
});

/** Engine events: a preview's resourcePreEvents or an update's resOutputsEvents, with what matters here. */
let sequence = 0;
const pre = (op: OpType, u: string): EngineEvent => ({
  sequence: sequence++,
  timestamp: 0,
  resourcePreEvent: { metadata: { op, urn: u, type: parseUrn(u).qualifiedType.split("$").pop() as string, provider: "" } },
});
const out = (op: OpType, u: string): EngineEvent => {
  const e = pre(op, u);
  return { sequence: e.sequence, timestamp: 0, resOutputsEvent: e.resourcePreEvent };
};
const failedEvent = (op: OpType, u: string): EngineEvent => {
  const e = pre(op, u);
  return { sequence: e.sequence, timestamp: 0, resOpFailedEvent: { metadata: e.resourcePreEvent!.metadata, status: 0, steps: 1 } };
};
const replaced = (mk: typeof pre, u: string) => [mk("create-replacement", u), mk("replace", u)];
const deletedOld = (mk: typeof pre, u: string) => [mk("delete-replaced", u)];

/** Every resource of STATE unchanged, then `events`: as the engine reports a targeted update. */
const withSame = (events: EngineEvent[], mk: typeof pre = pre) => [...STATE.map((r) => mk("same", r.urn)), ...events];

/** What the engine plans for a host's server certificate, a new one, and that host's steps and checks. */
const hostRotation = (mk: typeof pre, h: string, certOnly = false) => [
  ...(certOnly
    ? []
    : [...replaced(mk, urn(`${SERVER}$${KEY}`, `server-${h}-key`)), ...replaced(mk, urn(`${SERVER}$${CSR}`, `server-${h}-csr`))]),
  ...replaced(mk, urn(`${SERVER}$${SIGNED}`, `server-${h}-cert`)),
  mk("update", urn(`${HOST}$${CMD}`, `host-${h}-upload`)),
  mk("update", urn(`${HOST}$${CMD}`, `host-${h}-apply`)),
  ...replaced(mk, urn("dockertls:host:HostAudit$pulumi-nodejs:dynamic:Resource", `audit-${h}-state`)),
  mk("update", urn("dockertls:host:EndpointCheck$pulumi:providers:docker", `check-${h}-provider`)),
  ...(certOnly ? [] : [...deletedOld(mk, urn(`${SERVER}$${KEY}`, `server-${h}-key`))]),
  ...deletedOld(mk, urn(`${SERVER}$${SIGNED}`, `server-${h}-cert`)),
];

describe("the summary, from engine events", () => {
  test("one change per resource; a replacement wins over its halves; same and the stack are left out", () => {
    const events = withSame(hostRotation(pre, "web1"));
    const { changes, failed } = changesFromEvents(events, "planned");
    expect(failed).toEqual([]);
    expect(changes.map((c) => `${c.name} ${c.kind}`).sort()).toEqual([
      "audit-web1-state replace",
      "check-web1-provider update",
      "host-web1-apply update",
      "host-web1-upload update",
      "server-web1-cert replace",
      "server-web1-csr replace",
      "server-web1-key replace",
    ]);
    // A preview's events are not an update's.
    expect(changesFromEvents(events, "done").changes).toEqual([]);
  });

  test("a host: its certificate reissued, its dockerd restarted, clients untouched", () => {
    const s = summarize({ kind: "host", name: "web1" }, withSame(hostRotation(pre, "web1")), "planned");
    expect(s).toMatchObject({ reissued: ["server-web1"], restarts: ["web1"], caChanged: false, newClientCertificates: [], deleted: [] });
    expect(renderSummary(s, "prod", "planned")).toBe(
      "rotate server certificate of web1: reissues server-web1; restarts dockerd on web1 (1 host); clients keep working\n" +
        "  also changes: audit-web1-state (replace), check-web1-provider (update)\n",
    );
  });

  test("a client: its certificate reissued, no restart, the client told to fetch it (its old one still works)", () => {
    const k = (n: string, t: string) => urn(`${CLIENT}$${t}`, `client-ci-${n}`);
    const events = withSame([...replaced(pre, k("key", KEY)), ...replaced(pre, k("csr", CSR)), ...replaced(pre, k("cert", SIGNED))]);
    const s = summarize({ kind: "client", name: "ci" }, events, "planned");
    expect(s).toMatchObject({ reissued: ["client-ci"], restarts: [], newClientCertificates: ["ci"], newClientIssuers: [], other: [] });
    expect(renderSummary(s, "prod", "planned")).toBe(
      "rotate certificate of client ci: reissues client-ci; restarts no dockerd; client ci needs its new certificate " +
        "(npm run client -- --stack prod --client ci); its old one is still accepted until it expires\n",
    );
  });

  test("the program's own checker: nothing for a user to fetch", () => {
    const u = urn(`${CLIENT}$${SIGNED}`, `client-${CHECK_CLIENT}-cert`);
    const s = summarize({ kind: "client", name: CHECK_CLIENT }, withSame(replaced(pre, u)), "planned");
    expect(s.newClientCertificates).toEqual([]);
    expect(renderSummary(s, "prod", "planned")).toMatch(/restarts no dockerd; clients keep working\n$/);
  });

  test("the CA: every server certificate reissued, every host restarted, and a loud warning about ca.pem", () => {
    const events = withSame([
      ...replaced(pre, urn(`${CA}$${KEY}`, "ca-key")),
      ...replaced(pre, urn(`${CA}$${SELF}`, "ca-cert")),
      ...hostRotation(pre, "web2", true),
      ...hostRotation(pre, "web1", true),
    ]);
    const s = summarize({ kind: "ca" }, events, "planned");
    expect(s).toMatchObject({ reissued: ["ca", "server-web1", "server-web2"], restarts: ["web1", "web2"], caChanged: true });
    const text = renderSummary(s, "prod", "planned");
    expect(text.split("\n")[0]).toBe(
      "rotate the CA: reissues ca, server-web1, server-web2; restarts dockerd on web1, web2 (2 hosts); " +
        "every client needs the new ca.pem (npm run client -- --stack prod --client NAME)",
    );
    expect(text).toContain("WARNING: rotating the CA changes every client's ca.pem at once.");
    expect(text).toContain("A two-phase CA rotation");
    // Said before, not after.
    expect(renderSummary(s, "prod", "done")).not.toContain("WARNING");
  });

  test("a client issuer reissued: that client is refused until it fetches", () => {
    const u = urn(`${ISSUER}$${SELF}`, "client-alice-issuer-cert");
    const s = summarize({ kind: "ca" }, withSame(replaced(pre, u)), "planned");
    expect(s).toMatchObject({ reissued: ["client-alice-issuer"], newClientIssuers: ["alice"], newClientCertificates: [] });
    expect(renderSummary(s, "prod", "planned")).toContain(
      "client alice is refused until it fetches its new certificate (npm run client -- --stack prod --client alice)",
    );
  });

  test("what an update did, from the steps that finished; a failed update says what it did before (a failed apply restarted nothing)", () => {
    const done = summarize({ kind: "host", name: "web1" }, withSame(hostRotation(out, "web1"), out), "done");
    expect(renderSummary(done, "prod", "done").split("\n")[0]).toBe(
      "rotated server certificate of web1: reissued server-web1; restarted dockerd on web1 (1 host); clients keep working",
    );

    const apply = urn(`${HOST}$${CMD}`, "host-web1-apply");
    const events = withSame(
      [
        ...replaced(out, urn(`${SERVER}$${KEY}`, "server-web1-key")),
        ...replaced(out, urn(`${SERVER}$${CSR}`, "server-web1-csr")),
        ...replaced(out, urn(`${SERVER}$${SIGNED}`, "server-web1-cert")),
        out("update", urn(`${HOST}$${CMD}`, "host-web1-upload")),
        pre("update", apply),
        failedEvent("update", apply),
      ],
      out,
    );
    const s = summarize({ kind: "host", name: "web1" }, events, "done");
    expect(s.failed).toEqual(["host-web1-apply (update)"]);
    expect(renderSummary(s, "prod", "failed")).toBe(
      "rotation of server certificate of web1 FAILED; before the failure it reissued server-web1; restarted no dockerd; " +
        "clients keep working\n" +
        "  failed: host-web1-apply (update)\n",
    );
  });
});

describe("a preview that is not the rotation asked for is refused", () => {
  const key = urn(`${SERVER}$${KEY}`, "server-web1-key");

  test("the rotation as planned passes", () => {
    expect(planProblem([key], withSame(hostRotation(pre, "web1")))).toBeUndefined();
  });

  test("the key deleted instead (its host is no longer in the configuration)", () => {
    expect(planProblem([key], withSame([pre("delete", key)]))).toBe(
      "the preview plans to delete server-web1-key instead of replacing it: the stack's configuration and state differ; run pulumi up first",
    );
    expect(planProblem([key], withSame([]))).toMatch(/^the preview plans no replacement of server-web1-key: /);
  });

  test("anything deleted on the way", () => {
    const apply = urn(`${HOST}$${CMD}`, "host-web2-apply");
    expect(planProblem([key], withSame([...hostRotation(pre, "web1"), pre("delete", apply)]))).toBe(
      "the preview would delete host-web2-apply: the stack's configuration and state differ; run pulumi up first",
    );
  });
});

describe("asking first", () => {
  test("--yes and --dry-run do not ask; a terminal asks; no terminal and no --yes is an error", () => {
    expect(confirmationMode({ yes: true, dryRun: false }, false)).toBe("skip");
    expect(confirmationMode({ yes: false, dryRun: true }, false)).toBe("skip");
    expect(confirmationMode({ yes: false, dryRun: false }, true)).toBe("ask");
    expect(() => confirmationMode({ yes: false, dryRun: false }, false)).toThrow(
      "no terminal to confirm on: pass --yes to rotate without asking (or --dry-run to see the plan only)",
    );
  });

  test("a host or a client: y or yes; anything else, or the end of input, is a no", () => {
    const c = confirmation({ kind: "host", name: "web1" }, "prod");
    expect(c.prompt).toBe("Rotate the server certificate of web1 in stack prod? [y/N] ");
    expect(["y", "Y", "yes", " yes "].map(c.accepts)).toEqual([true, true, true, true]);
    expect(["", "n", "no", "yess", "prod"].map(c.accepts)).toEqual([false, false, false, false, false]);
    expect(c.accepts(undefined)).toBe(false);
  });

  test("the CA: the stack's name, typed; y is not enough", () => {
    const c = confirmation({ kind: "ca" }, "prod");
    expect(c.prompt).toBe("Type the stack's name (prod) to rotate its CA: ");
    expect(c.accepts("prod")).toBe(true);
    expect(c.accepts("prod\n")).toBe(true);
    expect(["y", "yes", "Prod", "dev", ""].map(c.accepts)).toEqual([false, false, false, false, false]);
    expect(c.accepts(undefined)).toBe(false);
  });
});
