/**
 * A failure inside a component's apply is a pulumi.ResourceError on that component, with its stack
 * hidden: the Node SDK then logs the message alone, under the component, instead of "Running
 * program … failed with an unhandled exception" and util.inspect of the error (its stack, and the
 * whole resource object). The apply callbacks are tested directly: under Jest, a rejected output
 * that the SDK leaves to the process's unhandled-rejection handler would crash the worker.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { probedVersion } from "../../components/endpointCheck";
import { certificateSha256 } from "../../components/serverCertificate";
import { selfSigned } from "../support/openssl";

let component: pulumi.ComponentResource;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) },
    "docker-tls",
    "unit",
    false,
  );
  component = new pulumi.ComponentResource("test:index:Component", "web1");
});

/** What `f` throws. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
}

const expectResourceError = (error: unknown, message: string | RegExp) => {
  expect(pulumi.ResourceError.isInstance(error)).toBe(true);
  expect((error as pulumi.ResourceError).resource).toBe(component);
  expect((error as pulumi.ResourceError).hideStack).toBe(true);
  if (typeof message === "string") expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
};

test("the endpoint check: the probe's JSON gives the version", () => {
  expect(probedVersion('{"version":"20.10.24","apiVersion":"1.41"}', "tcp://10.0.0.1:2376", component)).toBe("20.10.24");
});

test("the endpoint check: other output is a ResourceError on the check, naming the host", () => {
  expectResourceError(
    thrown(() => probedVersion("<html>proxy error</html>", "tcp://10.0.0.1:2376", component)),
    `tcp://10.0.0.1:2376: the version probe printed "<html>proxy error</html>", not the daemon's version`,
  );
  for (const stdout of ["", "null", "{}", '{"version":""}', '{"version":20}']) {
    expectResourceError(
      thrown(() => probedVersion(stdout, "tcp://10.0.0.1:2376", component)),
      /^tcp:\/\/10\.0\.0\.1:2376: the version probe printed /,
    );
  }
});

test("the server certificate: its fingerprint, or a ResourceError on it", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-unit-"));
  try {
    const { cert } = selfSigned(tmp, "mock", "mock");
    expect(certificateSha256(cert, component)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  expectResourceError(
    thrown(() => certificateSha256("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n", component)),
    /^the issued certificate cannot be read: /,
  );
});
