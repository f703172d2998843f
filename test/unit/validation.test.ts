/** Bad configuration stops the program before any resource is declared, as one error Pulumi prints without a stack. */
import * as pulumi from "@pulumi/pulumi";

const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n";
const registered: string[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push(args.name);
        return { id: args.name, state: args.inputs };
      },
      call: () => ({}),
    },
    "docker-tls",
    "unit",
  );
});

beforeEach(() => (registered.length = 0));

// The first require of index.ts compiles the whole program (ts-jest), which can outlast Jest's 5 s.
const COMPILE_TIMEOUT = 60_000;

/** Runs index.ts with the given `docker-tls:*` config and returns what it threw. */
function runProgram(config: Record<string, unknown>): unknown {
  pulumi.runtime.setAllConfig(
    {
      // As the engine gives them: objects as JSON, scalars (booleans too) as their text.
      ...Object.fromEntries(
        Object.entries(config).map(([k, v]) => [`docker-tls:${k}`, typeof v === "object" ? JSON.stringify(v) : String(v)]),
      ),
      "docker-tls:sshPrivateKey": SSH_KEY,
    },
    ["docker-tls:sshPrivateKey"],
  );
  let error: unknown;
  jest.isolateModules(() => {
    try {
      require("../../index");
    } catch (e) {
      error = e;
    }
  });
  return error;
}

test(
  "an invalid host address fails before any resource exists",
  () => {
    const error = runProgram({
      hosts: [
        { name: "web1", address: "10.0.0.1" },
        { name: "web3", address: "10.0.0.999" },
      ],
    });
    expect((error as Error | undefined)?.message).toContain('hosts[1] (web3).address: "10.0.0.999" is not an IP address or DNS name');
    expect(registered).toEqual([]);
  },
  COMPILE_TIMEOUT,
);

test(
  "every problem in one pulumi.RunError, so the CLI prints them without a stack trace",
  () => {
    const error = runProgram({
      hosts: [
        { name: "web1", address: "10.0.0.1", port: 70000 },
        { name: "web3", address: "10.0.0.999" },
      ],
      clients: [{ name: "ci" }, { name: "docker-tls-check" }],
      pki: { algorithm: "DSA" },
      // Read from its config string: the unpinned hosts are not among the problems.
      insecureSkipHostKeyCheck: true,
    });
    // The Node SDK's run loop logs a RunError as `err.message` alone (cmd/run/run.js); any other
    // error as "Running program … failed with an unhandled exception" and util.inspect(err), which
    // adds the stack and every own property (the `problems` array).
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(pulumi.ResourceError.isInstance(error)).toBe(false);
    expect((error as Error).name).toBe("ConfigError");
    expect((error as Error).message).toBe(
      [
        "invalid docker-tls configuration:",
        "  - hosts[0] (web1).port: 70000 is out of range (1-65535)",
        '  - hosts[1] (web3).address: "10.0.0.999" is not an IP address or DNS name',
        `  - clients[1] (docker-tls-check).name: "docker-tls-check" is reserved for the program's own endpoint checks`,
        '  - pki.algorithm: "DSA" is not one of ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096',
      ].join("\n"),
    );
    expect((error as { problems: string[] }).problems).toHaveLength(4);
    expect(registered).toEqual([]);
  },
  COMPILE_TIMEOUT,
);

test(
  "an unpinned host stops the program before any resource; insecureSkipHostKeyCheck is read from its config string",
  () => {
    const hosts = [{ name: "web1", address: "10.0.0.1" }];
    const unpinned = runProgram({ hosts });
    expect((unpinned as Error).message).toContain("hosts[0] (web1).hostKey: no pinned SSH host key; pin it as hostKey: ssh-keyscan");
    expect(registered).toEqual([]);
    const notBoolean = runProgram({ hosts, insecureSkipHostKeyCheck: "yes" });
    expect((notBoolean as Error).message).toContain('insecureSkipHostKeyCheck: "yes" is a string, not a boolean (true or false)');
    expect((runProgram({ hosts, insecureSkipHostKeyCheck: false }) as Error).message).toBe((unpinned as Error).message);
  },
  COMPILE_TIMEOUT,
);
