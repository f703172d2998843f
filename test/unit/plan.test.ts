/** A host's plan (host/plan.ts): what the program decides about a host from its config alone, and the audit's view of it. */
import { RESTART_WAIT_SECONDS } from "../../config";
import { fileDigests, localTlsAddress, planHost, renderHostFiles } from "../../host/plan";
import { plannedState } from "../../components/hostAudit";
import { PLAN_CONTEXT, expectedFiles, managedPaths } from "./auditFixtures";
import { ProbeResult, renderManifest, sha256 } from "../../render/scripts";
import { scriptTarget } from "../support/targets";
import { testHost } from "../support/config";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ5dHN0dWZmZm9ydGVzdGluZ29ubHkxMjM0NTY3";
const host = testHost;

const INPUTS = {
  probe: { daemonJson: '{"log-driver":"journald"}', execStart: ["/usr/bin/dockerd", "-H", "fd://"] } as ProbeResult,
  serverCertPem: "CERT\n",
  serverKeyPem: "KEY\n",
  clientCaBundle: "BUNDLE\n",
};

describe("planHost", () => {
  test("the TLS port as the host itself reaches it: loopback for a wildcard bind address, IPv6 in brackets", () => {
    expect(localTlsAddress("0.0.0.0", 2376)).toBe("127.0.0.1:2376");
    expect(localTlsAddress("::", 2376)).toBe("[::1]:2376");
    expect(localTlsAddress("10.0.0.5", 2377)).toBe("10.0.0.5:2377");
    expect(localTlsAddress("2001:db8::5", 2376)).toBe("[2001:db8::5]:2376");
  });

  test.each([
    ["systemd", "/etc/systemd/system/docker.service.d/docker-tls.conf"],
    ["sysv", "/etc/default/docker"],
    ["custom", undefined],
  ] as const)("the managed files of a %s host: TLS material, daemon.json and the init system's file", (init, extra) => {
    const plan = planHost(host({ init, ...(init === "custom" ? { restartCommand: "rc-service docker restart" } : {}) }), {
      ...PLAN_CONTEXT,
      waitSeconds: 30,
    });
    expect(plan.files).toEqual([
      { path: "/etc/docker/ca.pem", mode: "0444", owner: "root:root", source: "clientCaBundle" },
      { path: "/etc/docker/server-cert.pem", mode: "0444", owner: "root:root", source: "serverCert" },
      { path: "/etc/docker/server-key.pem", mode: "0400", owner: "root:root", source: "serverKey" },
      { path: "/etc/docker/daemon.json", mode: "0644", owner: "root:root", source: "daemonJson" },
      ...(extra ? [{ path: extra, mode: "0644", owner: "root:root", source: init === "systemd" ? "systemdDropIn" : "defaultDocker" }] : []),
    ]);
    expect(managedPaths(init)).toEqual(plan.files.map((f) => f.path).sort());
    expect(plan.target).toEqual(scriptTarget(init, { settleSeconds: PLAN_CONTEXT.settleSeconds }));
    expect(plan.tlsPaths).toEqual({
      clientCaBundle: "/etc/docker/ca.pem",
      serverCert: "/etc/docker/server-cert.pem",
      serverKey: "/etc/docker/server-key.pem",
    });
  });

  test("listeners, port and DOCKER_HOST; an IPv6 address in brackets, a DNS name and an IPv4 address as they are", () => {
    const v4 = planHost(host(), PLAN_CONTEXT);
    expect(v4.listenHosts).toEqual(["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"]);
    expect(v4.daemonPort).toBe(2376);
    expect(v4.dockerHost).toBe("tcp://192.0.2.10:2376");
    expect(v4.target.waitSeconds).toBe(RESTART_WAIT_SECONDS);
    const v6 = planHost(host({ address: "2001:db8::10", daemon: { port: 2377, bindAddress: "::", keepUnixSocket: false } }), PLAN_CONTEXT);
    expect(v6.dockerHost).toBe("tcp://[2001:db8::10]:2377");
    expect(v6.listenHosts).toEqual(["tcp://[::]:2377"]);
    expect(v6.daemonPort).toBe(2377);
    expect(planHost(host({ address: "docker1.example.com" }), PLAN_CONTEXT).dockerHost).toBe("tcp://docker1.example.com:2376");
  });

  test("the connection: address, port, user, sudo, and the pinned host key with its algorithm", () => {
    expect(planHost(host(), PLAN_CONTEXT).connection).toEqual({ address: "192.0.2.10", port: 22, user: "root", sudo: false });
    const pinned = planHost(host({ port: 2222, user: "deploy", hostKey: HOST_KEY }), PLAN_CONTEXT).connection;
    expect(pinned).toEqual({
      address: "192.0.2.10",
      port: 2222,
      user: "deploy",
      sudo: true,
      hostKey: HOST_KEY,
      hostKeyAlgorithm: "ssh-ed25519",
    });
  });
});

describe("the planned files' contents", () => {
  test("rendered in the plan's order and modes; their digests are the manifest's entries", () => {
    const h = host({ init: "systemd" });
    const plan = planHost(h, PLAN_CONTEXT);
    const files = renderHostFiles(h, plan.files, INPUTS);
    expect(files.map((f) => [f.path, f.mode])).toEqual(plan.files.map((f) => [f.path, f.mode]));
    expect(files.slice(0, 3).map((f) => f.content)).toEqual(["BUNDLE\n", "CERT\n", "KEY\n"]);
    expect(JSON.parse(files[3].content)).toMatchObject({ "log-driver": "journald", tlsverify: true });
    expect(files[4].content).toContain("ExecStart=/usr/bin/dockerd\n");
    const digests = fileDigests(plan.files, files);
    expect(digests[2]).toEqual({ path: "/etc/docker/server-key.pem", mode: "400", owner: "root:root", sha256: sha256("KEY\n") });
    // The audit expects from the plan's typed files exactly what the manifest text lists.
    const state = plannedState(plan, digests, "AB:CD");
    expect(state.files).toEqual(expectedFiles(renderManifest(files)));
    expect(Object.keys(state.files).sort()).toEqual(managedPaths("systemd"));
  });

  test("a broken original daemon.json names the host", () => {
    const h = host();
    expect(() => renderHostFiles(h, planHost(h, PLAN_CONTEXT).files, { ...INPUTS, probe: { daemonJson: "[1]" } })).toThrow(
      /^host web1: \/etc\/docker\/daemon.json/,
    );
  });

  describe("daemon.json keeps the settings of the file dockerd read: a --config-file's, if its command named one", () => {
    const daemonJson = (init: "systemd" | "sysv", probe: ProbeResult) => {
      const h = host({ init });
      const files = renderHostFiles(h, planHost(h, PLAN_CONTEXT).files, { ...INPUTS, probe });
      return JSON.parse(files[3].content);
    };
    const probe: ProbeResult = {
      daemonJson: '{"log-driver":"journald"}',
      execStart: ["/usr/bin/dockerd", "-H", "fd://", "--config-file=/srv/docker/daemon.json"],
      configFilePath: "/srv/docker/daemon.json",
      configFile: '{"data-root":"/srv/docker","hosts":["tcp://0.0.0.0:2375"]}',
    };

    test.each(["systemd", "sysv"] as const)("%s: from the --config-file, not /etc/docker/daemon.json", (init) => {
      const j = daemonJson(init, probe);
      expect(j["data-root"]).toBe("/srv/docker");
      expect(j["log-driver"]).toBeUndefined();
      // Ours win over the file's, as over daemon.json's.
      expect(j.hosts).toEqual(init === "systemd" ? ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"] : undefined);
    });

    test("the --config-file is /etc/docker/daemon.json itself (however spelled): daemon.json, as without one", () => {
      expect(daemonJson("systemd", { ...probe, configFilePath: "/etc/docker//./daemon.json" })["log-driver"]).toBe("journald");
      expect(daemonJson("systemd", { daemonJson: '{"log-driver":"journald"}' })["log-driver"]).toBe("journald");
    });

    test("a named file that does not exist: no settings of the host's (dockerd did not start on it)", () => {
      const j = daemonJson("systemd", { ...probe, configFile: undefined });
      expect(j["data-root"]).toBeUndefined();
      expect(j["log-driver"]).toBeUndefined();
      expect(j.tlsverify).toBe(true);
    });

    test("a broken one names the host and the file", () => {
      expect(() => daemonJson("sysv", { ...probe, configFile: "{oops" })).toThrow(
        /^host web1: \/srv\/docker\/daemon.json is not a JSON object/,
      );
    });
  });

  test("files other than the plan's are an error naming the host", () => {
    const plan = planHost(host({ init: "systemd" }), PLAN_CONTEXT);
    const h = host({ init: "sysv" });
    const sysv = fileDigests(planHost(h, PLAN_CONTEXT).files, renderHostFiles(h, planHost(h, PLAN_CONTEXT).files, INPUTS));
    expect(() => plannedState(plan, sysv, "AB:CD")).toThrow(/^host web1: the manifest lists .*\/etc\/default\/docker/);
  });
});
