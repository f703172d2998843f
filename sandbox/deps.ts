// Installs the Debian packages the sandbox needs when they are missing, so `up` works on a
// fresh machine. Services shipped by these packages must not start on the machine itself
// (an sshd on 0.0.0.0:22, a dockerd with its own bridge): policy-rc.d forbids that.
import * as fs from "node:fs";
import { run } from "./exec";
import { Logger, step } from "./log";

export const PACKAGES = [
  "docker.io",
  "openssh-server",
  "openssh-client",
  "iproute2",
  "systemd-container",
  "debootstrap",
  "iptables",
  "sudo", // the plain hosts' deploy user needs it; the rootfs brings its own
] as const;

const POLICY_RC = "/usr/sbin/policy-rc.d";

export async function missingPackages(): Promise<string[]> {
  const res = await run("dpkg-query", ["-W", "-f", "${Package} ${db:Status-Status}\n", ...PACKAGES], {
    allowFail: true, // exits 1 when a package was never known to dpkg
  });
  const installed = new Set(
    res.stdout
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter((f) => f[1] === "installed")
      .map((f) => f[0]),
  );
  return PACKAGES.filter((p) => !installed.has(p));
}

export async function ensurePackages(log: Logger): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) {
    log("packages: all present");
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Other sessions may hold the dpkg lock for a while: wait rather than fail.
  const lock = ["-o", "DPkg::Lock::Timeout=600"];
  let ownPolicy = false;
  if (!fs.existsSync(POLICY_RC)) {
    fs.writeFileSync(POLICY_RC, "#!/bin/sh\n# docker-tls sandbox: no service starts during install\nexit 101\n", {
      mode: 0o755,
    });
    ownPolicy = true;
  }
  try {
    await step(log, "packages: apt-get update", () => run("nice", ["apt-get", ...lock, "update"], { env }));
    await step(log, `packages: install ${missing.join(" ")}`, () =>
      run("nice", ["apt-get", ...lock, "install", "-y", "--no-install-recommends", ...missing], { env }),
    );
  } finally {
    if (ownPolicy) fs.rmSync(POLICY_RC, { force: true });
  }
  const still = await missingPackages();
  if (still.length) throw new Error(`packages still missing after install: ${still.join(" ")}`);
}
