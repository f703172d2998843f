/** Bad configuration stops the program before any resource is declared. */
import * as pulumi from "@pulumi/pulumi";

test("an invalid host address fails before any resource exists", async () => {
  const registered: string[] = [];
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
  pulumi.runtime.setAllConfig(
    {
      "docker-tls:hosts": JSON.stringify([
        { name: "web1", address: "10.0.0.1" },
        { name: "web3", address: "10.0.0.999" },
      ]),
      "docker-tls:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
    },
    ["docker-tls:sshPrivateKey"],
  );
  let error: Error | undefined;
  jest.isolateModules(() => {
    try {
      require("../../index");
    } catch (e) {
      error = e as Error;
    }
  });
  expect(error?.message).toContain('hosts[1] (web3).address: "10.0.0.999" is not an IP address or DNS name');
  expect(registered).toEqual([]);
});
