/**
 * EndpointCheck's docker provider is configured from its host's audit (see the component): in a
 * preview where the audit's output is unknown (the audit will heal the host), so is the provider's
 * `host`, and the engine then does not configure it (the upstream provider would ping the broken
 * endpoint). Here with a preview-mode mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

class Audit extends pulumi.CustomResource {
  declare readonly observed: pulumi.Output<unknown>;
  constructor(name: string) {
    super("test:index:Audit", name, { observed: undefined });
  }
}

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        // The audit named "healing" is being replaced: its observation is not known in the preview.
        const state =
          args.type === "test:index:Audit" ? { observed: args.name === "healing" ? UNKNOWN : { reachable: true } } : args.inputs;
        return { id: `${args.name}-id`, state };
      },
      call: () => ({ id: "net-host", name: "host", driver: "host" }),
    },
    "docker-tls",
    "unit",
    true,
  );
  const { EndpointCheck } = require("../../components/endpointCheck") as typeof import("../../components/endpointCheck");
  for (const [name, address] of [
    ["healing", "10.0.0.1"],
    ["clean", "10.0.0.2"],
  ]) {
    const audit = new Audit(name);
    new EndpointCheck(`check-${name}`, {
      dockerHost: `tcp://${address}:2376`,
      caCertPem: "CA",
      clientCertPem: "CERT",
      clientKeyPem: "KEY",
      revision: "r1",
      healed: audit.observed,
    });
  }
  await new Promise((r) => setTimeout(r, 200));
});

const providerHost = (name: string) => registered.find((r) => r.name === `check-${name}-provider`)?.inputs.host;

test("while the audit's observation is unknown, so is the provider's host", () => {
  // How the mock monitor shows an unknown input.
  expect(providerHost("healing")).toEqual({ __pulumiUnknown: true });
});

test("once it is known, the provider gets the host's endpoint", () => {
  expect(providerHost("clean")).toBe("tcp://10.0.0.2:2376");
});
