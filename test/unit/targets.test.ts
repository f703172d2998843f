/**
 * Which backend the npm scripts' Pulumi commands use: the sandbox's only with --sandbox, the
 * user's own otherwise whatever the stack is called, and variables the user set always win.
 */
import * as path from "path";
import { clientArgs } from "../../scripts/client";
import { driftArgs } from "../../scripts/drift";
import { ROOT, SANDBOX_BACKEND, SANDBOX_PASSPHRASE, sandboxVars, targetVars } from "../../scripts/lib/stack";

describe("--sandbox on the command line", () => {
  test("drift: off unless given, for the stack named dev too", () => {
    expect(driftArgs(["--stack", "dev"])).toEqual({ stack: "dev", dir: ROOT, json: false, verbose: false, sandbox: false });
    expect(driftArgs(["--stack", "dev", "--sandbox"]).sandbox).toBe(true);
  });

  test("drift: the e2e suite's command line still parses", () => {
    expect(driftArgs(["--stack", "drift", "--dir", "/tmp/w", "--json"])).toEqual({
      stack: "drift",
      dir: path.resolve("/tmp/w"),
      json: true,
      verbose: false,
      sandbox: false,
    });
    expect(() => driftArgs(["--json"])).toThrow("--stack NAME is required");
  });

  test("client: off unless given; --stack defaults to dev, --client is required", () => {
    expect(clientArgs(["--client", "ci"])).toMatchObject({ stack: "dev", client: "ci", context: false, sandbox: false });
    expect(clientArgs(["--stack", "dev", "--sandbox", "--client", "ci", "--context"])).toMatchObject({ sandbox: true, context: true });
    expect(() => clientArgs(["--stack", "dev", "--sandbox"])).toThrow("--client NAME is required");
  });

  test("a misspelt --sandbox stops the command instead of falling back to another backend", () => {
    expect(() => driftArgs(["--stack", "dev", "--sandbx"])).toThrow('unknown argument "--sandbx"');
  });
});

describe("the environment of the scripts' Pulumi commands", () => {
  test("without --sandbox nothing is added: the user's backend and passphrase, whatever the stack", () => {
    expect(targetVars({ sandbox: false }, {})).toEqual({});
    expect(targetVars({ sandbox: false }, { PULUMI_BACKEND_URL: "https://api.pulumi.com" })).toEqual({});
  });

  test("with --sandbox: the sandbox's backend and passphrase", () => {
    expect(sandboxVars({})).toEqual({ PULUMI_BACKEND_URL: SANDBOX_BACKEND, PULUMI_CONFIG_PASSPHRASE: SANDBOX_PASSPHRASE });
    expect(SANDBOX_BACKEND).toBe(`file://${path.join(ROOT, ".state", "backend")}`);
  });

  test("with --sandbox, variables the user set win", () => {
    const mine = { PULUMI_BACKEND_URL: "file:///tmp/mine", PULUMI_CONFIG_PASSPHRASE: "" };
    expect(targetVars({ sandbox: true }, mine)).toEqual({});
    expect(sandboxVars({ PULUMI_BACKEND_URL: "file:///tmp/mine" })).toEqual({ PULUMI_CONFIG_PASSPHRASE: SANDBOX_PASSPHRASE });
    expect(sandboxVars({ PULUMI_CONFIG_PASSPHRASE: "s3cret" })).toEqual({ PULUMI_BACKEND_URL: SANDBOX_BACKEND });
    expect(sandboxVars({ PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pp" })).toEqual({ PULUMI_BACKEND_URL: SANDBOX_BACKEND });
  });
});
