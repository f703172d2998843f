import { execFileSync } from "child_process";
import { DAEMON_DEFAULTS, DaemonSettings, INIT_KINDS } from "../../config";
import { daemonJsonRestartPart, dockerOptsFlags, renderDaemonJson, renderDefaultDocker, renderSystemdDropIn } from "../../render/daemon";
import {
  parseOriginalDaemonJson,
  parseProbe,
  remoteCommand,
  splitExecStart,
  renderApplyScript,
  renderManifest,
  renderProbeScript,
  renderRestoreScript,
  renderUnstageScript,
  renderUploadPayload,
  renderUploadScript,
  sha256,
  shellQuote,
  restartDigest,
  latestValidFrom,
} from "../../render/scripts";
import { scriptTarget } from "../support/targets";

const d = (over: Partial<DaemonSettings> = {}): DaemonSettings => ({ ...DAEMON_DEFAULTS, ...over });

describe("daemon.json", () => {
  test("systemd: listeners and TLS files, the settings, and the host's own keys kept", () => {
    const text = renderDaemonJson(
      { "data-root": "/srv/docker", "log-level": "debug" },
      d({ dns: ["1.1.1.1"], registryMirrors: ["https://mirror.example.com"] }),
      "systemd",
    );
    expect(text).toBe(
      JSON.stringify(
        {
          "data-root": "/srv/docker",
          debug: false,
          dns: ["1.1.1.1"],
          hosts: ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"],
          "live-restore": true,
          "log-level": "info",
          "registry-mirrors": ["https://mirror.example.com"],
          tls: true,
          tlscacert: "/etc/docker/ca.pem",
          tlscert: "/etc/docker/server-cert.pem",
          tlskey: "/etc/docker/server-key.pem",
          tlsverify: true,
        },
        null,
        2,
      ) + "\n",
    );
  });

  test("the security settings, when set: icc, no-new-privileges, userland-proxy, userns-remap; unset, not written", () => {
    const set = JSON.parse(
      renderDaemonJson({ icc: true }, d({ icc: false, noNewPrivileges: true, userlandProxy: false, usernsRemap: "default" }), "sysv"),
    );
    expect(set).toMatchObject({ icc: false, "no-new-privileges": true, "userland-proxy": false, "userns-remap": "default" });
    const unset = JSON.parse(renderDaemonJson({ icc: true }, d(), "systemd"));
    expect(unset.icc).toBe(true); // the host's own key stays
    for (const k of ["no-new-privileges", "userland-proxy", "userns-remap"]) expect(unset).not.toHaveProperty([k]);
    // None of them is applied by a reload: a change restarts dockerd.
    const before = renderDaemonJson({}, d(), "systemd");
    for (const over of [{ icc: false }, { noNewPrivileges: true }, { userlandProxy: false }, { usernsRemap: "default" }]) {
      expect(daemonJsonRestartPart(renderDaemonJson({}, d(over), "systemd"))).not.toBe(daemonJsonRestartPart(before));
    }
  });

  test("without the unix socket, on another port and an IPv6 address", () => {
    const j = JSON.parse(renderDaemonJson({}, d({ keepUnixSocket: false, port: 12376, bindAddress: "::" }), "custom"));
    expect(j.hosts).toEqual(["tcp://[::]:12376"]);
  });

  test("sysv: listeners and TLS go to DOCKER_OPTS, and are removed from the host's file", () => {
    const j = JSON.parse(
      renderDaemonJson(
        { hosts: ["tcp://0.0.0.0:2375"], tlsverify: false, bip: "172.30.0.1/16" },
        d({ insecureRegistries: ["r:5000"], extra: { "max-concurrent-downloads": 2 } }),
        "sysv",
      ),
    );
    expect(j).toEqual({
      bip: "172.30.0.1/16",
      debug: false,
      "insecure-registries": ["r:5000"],
      "live-restore": true,
      "log-level": "info",
      "max-concurrent-downloads": 2,
    });
  });

  test("the original file's problems name the host", () => {
    expect(parseOriginalDaemonJson("web1", undefined)).toEqual({});
    expect(parseOriginalDaemonJson("web1", '{"a":1}')).toEqual({ a: 1 });
    expect(() => parseOriginalDaemonJson("web1", "[1]")).toThrow("host web1: /etc/docker/daemon.json is not a JSON object");
    expect(() => parseOriginalDaemonJson("web1", "{oops")).toThrow("host web1:");
    // Another --config-file dockerd read: named in the error.
    expect(() => parseOriginalDaemonJson("web1", "{oops", "/srv/docker/daemon.json")).toThrow(
      "host web1: /srv/docker/daemon.json is not a JSON object",
    );
  });
});

describe("/etc/default/docker", () => {
  test("the seed deck's DOCKER_OPTS, other lines kept, the old DOCKER_OPTS commented out", () => {
    const original =
      '# Docker Upstart and SysVinit configuration file\nexport http_proxy="http://proxy:3128/"\nDOCKER_OPTS="--dns 8.8.8.8"\n';
    expect(renderDefaultDocker(original, d())).toBe(
      [
        "# Docker Upstart and SysVinit configuration file",
        'export http_proxy="http://proxy:3128/"',
        '# replaced by docker-tls: DOCKER_OPTS="--dns 8.8.8.8"',
        "# Managed by docker-tls: the daemon listens with mutual TLS; other settings are in /etc/docker/daemon.json.",
        'DOCKER_OPTS="-H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376 --tlsverify --tlscacert=/etc/docker/ca.pem --tlscert=/etc/docker/server-cert.pem --tlskey=/etc/docker/server-key.pem"',
        "",
      ].join("\n"),
    );
  });

  test("flags without the unix socket", () => {
    expect(dockerOptsFlags(d({ keepUnixSocket: false }))[0]).toBe("-H tcp://0.0.0.0:2376");
  });
});

describe("systemd drop-in", () => {
  test("clears ExecStart first and drops every -H, keeping --containerd", () => {
    expect(
      renderSystemdDropIn([
        "/usr/sbin/dockerd",
        "-H",
        "fd://",
        "--containerd=/run/containerd/containerd.sock",
        "--host=tcp://x",
        "-Hunix:///x",
      ]),
    ).toBe(
      "# Managed by docker-tls: listeners and TLS are set in /etc/docker/daemon.json.\n[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock\n",
    );
  });
  test("drops --config-file in both forms, so dockerd reads /etc/docker/daemon.json", () => {
    const execStart = (argv: string[]) => renderSystemdDropIn(argv).split("\n")[3];
    expect(
      execStart([
        "/usr/bin/dockerd",
        "--config-file=/srv/docker/daemon.json",
        "-H",
        "fd://",
        "--containerd=/run/containerd/containerd.sock",
        "--config-file",
        "/etc/docker/other.json",
        "--data-root=/srv/docker",
      ]),
    ).toBe("ExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock --data-root=/srv/docker");
    // A flag that only starts like one of them stays.
    expect(execStart(["/usr/bin/dockerd", "--config-files-are-not-a-flag", "--hosts"])).toBe(
      "ExecStart=/usr/bin/dockerd --config-files-are-not-a-flag --hosts",
    );
  });
  test("a quoted --config-file goes too; a quoted word with spaces is quoted again", () => {
    const argv = splitExecStart(`/usr/bin/dockerd "--config-file=/etc/my docker.json" --label 'role=a b' -H fd://`);
    expect(argv).toEqual(["/usr/bin/dockerd", "--config-file=/etc/my docker.json", "--label", "role=a b", "-H", "fd://"]);
    expect(renderSystemdDropIn(argv)).toContain('ExecStart=/usr/bin/dockerd --label "role=a b"\n');
  });
  test("keeps a systemd prefix on the command (ignore failure)", () => {
    expect(renderSystemdDropIn(["-/usr/bin/dockerd", "-H", "fd://"])).toContain("ExecStart=-/usr/bin/dockerd\n");
  });
  test("falls back to the stock command", () => {
    expect(renderSystemdDropIn(undefined)).toContain("ExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock\n");
  });
});

describe("probe output", () => {
  test("parses sections, absent files and the unit's ExecStart into argv", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const out = [
      "=== daemon.json",
      b64('{"a":1}'),
      "=== default-docker",
      "ABSENT",
      "=== execstart",
      b64("/usr/sbin/dockerd -H fd://  --containerd=/run/containerd/containerd.sock\n"),
      "",
    ].join("\n");
    expect(parseProbe(out)).toEqual({
      daemonJson: '{"a":1}',
      defaultDocker: undefined,
      execStart: ["/usr/sbin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"],
      configFilePath: undefined,
      configFile: undefined,
    });
  });

  test("parses the --config-file's path and content", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const out = [
      "=== daemon.json",
      "ABSENT",
      "=== default-docker",
      "ABSENT",
      "=== execstart",
      b64("/usr/bin/dockerd --config-file=/srv/docker/daemon.json\n"),
      "=== config-file-path",
      b64("/srv/docker/daemon.json"),
      "=== config-file",
      b64('{"data-root":"/srv/docker"}\n'),
      "",
    ].join("\n");
    expect(parseProbe(out)).toEqual({
      execStart: ["/usr/bin/dockerd", "--config-file=/srv/docker/daemon.json"],
      configFilePath: "/srv/docker/daemon.json",
      configFile: '{"data-root":"/srv/docker"}\n',
    });
    // A named file that does not exist: the path, no content.
    expect(parseProbe(out.replace(b64('{"data-root":"/srv/docker"}\n'), "ABSENT"))).toMatchObject({
      configFilePath: "/srv/docker/daemon.json",
      configFile: undefined,
    });
  });
});

describe("payload and manifest", () => {
  const files = [
    { path: "/etc/docker/server-key.pem", mode: "0400", content: "KEY\n" },
    { path: "/etc/docker/daemon.json", mode: "0644", content: "x".repeat(200) },
  ];
  test("payload: VALID_FROM, then base64 between FILE and END, lines of 76", () => {
    const p = renderUploadPayload(files, { epoch: 1764460800.7, what: "client certificate  ci" });
    expect(p.startsWith(`VALID_FROM 1764460800 client certificate ci\nFILE\n${Buffer.from("KEY\n").toString("base64")}\nEND\nFILE\n`)).toBe(
      true,
    );
    expect(Math.max(...p.split("\n").map((l) => l.length))).toBe(76);
    expect(p).not.toContain("KEY\n");
  });
  test("latestValidFrom: the certificate that became valid last", () => {
    expect(
      latestValidFrom([
        { notBefore: "2026-11-01T00:00:00Z", what: "client certificate ci" },
        { notBefore: "2026-11-30T12:00:00Z", what: "client certificate bob" },
        { notBefore: "not a time", what: "client certificate odd" },
      ]),
    ).toEqual({ epoch: Date.parse("2026-11-30T12:00:00Z") / 1000, what: "client certificate bob" });
    expect(latestValidFrom([])).toEqual({ epoch: 0, what: "no certificate" });
  });

  test("manifest: hash, mode, path and restart digest, then `end`", () => {
    expect(renderManifest(files)).toBe(
      `${sha256("KEY\n")} 400 /etc/docker/server-key.pem ${sha256("KEY\n")}\n` +
        `${sha256("x".repeat(200))} 644 /etc/docker/daemon.json ${sha256("x".repeat(200))}\nend\n`,
    );
  });

  test("restart digest: daemon.json without the keys dockerd reloads on SIGHUP; other files whole", () => {
    const json = (o: object) => ({ path: "/etc/docker/daemon.json", mode: "0644", content: JSON.stringify(o) });
    const base = { hosts: ["tcp://0.0.0.0:2376"], "log-level": "info", debug: false, "registry-mirrors": [] as string[] };
    // A mirror or debug changes the content, not the restart digest: a reload is enough.
    expect(restartDigest(json({ ...base, "registry-mirrors": ["https://m.example"], debug: true }))).toBe(restartDigest(json(base)));
    // log-level and the listeners are not reloaded by dockerd.
    expect(restartDigest(json({ ...base, "log-level": "warn" }))).not.toBe(restartDigest(json(base)));
    expect(restartDigest(json({ ...base, hosts: [] }))).not.toBe(restartDigest(json(base)));
    // Key order does not matter; any change to another file does.
    const reordered = Object.fromEntries(Object.entries(base).reverse());
    expect(restartDigest(json(reordered))).toBe(restartDigest(json(base)));
    const ca = { path: "/etc/docker/ca.pem", mode: "0444", content: "A" };
    expect(restartDigest(ca)).toBe(sha256("A"));
    expect(daemonJsonRestartPart("not json")).toBe("not json");
  });
});

describe("remote scripts", () => {
  const scripts = INIT_KINDS.flatMap((init) => {
    const t = scriptTarget(init);
    return [
      [`probe/${init}`, renderProbeScript(t)],
      [`apply/${init}`, renderApplyScript(t)],
      [`restore/${init}`, renderRestoreScript(t)],
      [`upload/${init}`, renderUploadScript(t)],
      [`unstage/${init}`, renderUnstageScript(t)],
    ] as const;
  });

  test.each(scripts)("%s parses with POSIX sh (dash)", (_name, script) => {
    expect(() => execFileSync("sh", ["-n", "-c", script], { stdio: "pipe" })).not.toThrow();
  });

  test("the command line quotes the script and uses sudo -n for non-root users", () => {
    expect(remoteCommand("echo 'hi'", true)).toBe(`sudo -n sh -c 'echo '\\''hi'\\'''`);
    expect(remoteCommand("true", false)).toBe("sh -c 'true'");
    expect(execFileSync("sh", ["-c", `eval ${shellQuote(remoteCommand("printf '%s' \"it's\"", false))}`]).toString()).toBe("it's");
  });

  test("the upload script stages what the payload holds, by content hash (state in a temp dir)", () => {
    const dir = execFileSync("mktemp", ["-d"]).toString().trim();
    // Through the prelude's STATE; its parent (here dir) stands for /etc/docker.
    const stateDir = `${dir}/docker-tls`;
    const script = renderUploadScript({ host: "web1", owner: "docker-tls/unit/web1", takeOver: false, stateDir });
    execFileSync("chmod", ["755", dir]);
    const files = [
      { path: "/x/a", mode: "0400", content: "secret key\n" },
      { path: "/x/b", mode: "0644", content: "y".repeat(500) },
    ];
    execFileSync("sh", ["-c", script], { input: renderUploadPayload(files) });
    const staged = execFileSync("sh", [
      "-c",
      `cd ${dir}/docker-tls/next && ls -A && stat -c %a . && cat ${sha256("secret key\n")}`,
    ]).toString();
    expect(staged).toBe([sha256("secret key\n"), sha256("y".repeat(500))].sort().join("\n") + "\n700\nsecret key\n");
    // The original mode of the folder is kept for destroy, and the folder is now private.
    expect(execFileSync("sh", ["-c", `cat ${dir}/docker-tls/backup/etc-docker.mode; stat -c %a ${dir}`]).toString()).toBe("755\n700\n");
    // A second upload without a file removes its staged copy.
    execFileSync("sh", ["-c", script], { input: renderUploadPayload(files.slice(1)) });
    expect(execFileSync("ls", ["-A", `${dir}/docker-tls/next`]).toString()).toBe(`${sha256("y".repeat(500))}\n`);
    // Unstage removes the staging folder of the same state dir, and nothing else.
    execFileSync("sh", ["-c", renderUnstageScript({ host: "web1", owner: "docker-tls/unit/web1", takeOver: false, stateDir })]);
    expect(execFileSync("ls", ["-A", stateDir]).toString()).toBe("backup\nowner\n");
    execFileSync("rm", ["-rf", dir]);
  });
});
