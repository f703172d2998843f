/** Validated host configs for unit tests that are about something other than validation. */
import { HostConfig, parseConfig } from "../../config";

/** Looks like an OpenSSH private key to parseConfig; never used to connect. */
export const FAKE_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK\n-----END OPENSSH PRIVATE KEY-----\n";

/**
 * The one host of a stack that sets nothing else, `over` applied to it, as parseConfig settles it
 * (every default applied). The stack opts out of host key pinning, so that a test may leave the
 * host unpinned (a `hostKey` in `over` pins it); no file is read.
 */
export function testHost(over: Record<string, unknown> = {}): HostConfig {
  const raw = { hosts: [{ name: "web1", address: "192.0.2.10", ...over }], sshPrivateKeyPath: "/id", insecureSkipHostKeyCheck: true };
  return parseConfig(raw, () => FAKE_SSH_KEY).hosts[0];
}
