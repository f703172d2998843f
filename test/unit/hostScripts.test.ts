// The host scripts as rendered from render/sh/: snapshots, so that a review shows the shell that
// changed, and runs of the library and the steps against fake init tools and a temporary state dir.
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { INIT_KINDS, InitKind } from "../../config";
import { renderSystemdDropIn } from "../../render/daemon";
import {
  compactShell,
  parseProbe,
  renderApplyScript,
  renderLibrary,
  renderManifest,
  renderProbeScript,
  renderRestoreScript,
  renderUnstageScript,
  renderUploadPayload,
  renderUploadScript,
  ScriptTarget,
  sha256,
} from "../../render/scripts";
import { scriptTarget } from "../support/targets";
import { selfSigned } from "../support/openssl";
import { pathWithout } from "../support/bin";

const target = scriptTarget;

const render = {
  probe: renderProbeScript,
  upload: renderUploadScript,
  apply: renderApplyScript,
  restore: renderRestoreScript,
  unstage: renderUnstageScript,
} as const;
const steps = Object.keys(render) as (keyof typeof render)[];

const tmpDirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-sh-"));
  tmpDirs.push(d);
  return d;
};
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/**
 * A folder of fake commands that log `name args…` to $FAKE_LOG and then run `body`, put first on
 * PATH: the scripts find them instead of the machine's systemctl, service, journalctl…
 */
function fakeBin(tools: Record<string, string>): { env: NodeJS.ProcessEnv; log: () => string } {
  const dir = tmpDir();
  const logFile = path.join(dir, "calls.log");
  fs.writeFileSync(logFile, "");
  for (const [name, body] of Object.entries(tools)) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >> "$FAKE_LOG"\n${body}\n`, { mode: 0o755 });
  }
  return {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_LOG: logFile },
    log: () => fs.readFileSync(logFile, "utf8"),
  };
}

describe("snapshots of the rendered scripts", () => {
  // Every script holds lib.sh once, between its prelude and its step, and apply and restore hold
  // daemon.sh after it: snapshot each library once, and each script with the libraries left out,
  // so that a change to lib.sh or daemon.sh is one hunk in review.
  const read = (file: string) => compactShell(fs.readFileSync(path.join(__dirname, "..", "..", "render", "sh", file), "utf8"));
  const library = read("lib.sh");
  const daemon = read("daemon.sh");
  test("lib.sh and daemon.sh", () => {
    expect(library).toMatchSnapshot();
    expect(daemon).toMatchSnapshot();
  });
  test.each(INIT_KINDS.flatMap((init) => steps.map((step) => [step, init] as const)))("%s/%s", (step, init) => {
    const script = render[step](target(init));
    expect(script.split(library)).toHaveLength(2);
    // Only the steps that touch dockerd carry the daemon control.
    expect(script.split(daemon)).toHaveLength(step === "apply" || step === "restore" ? 2 : 1);
    expect(script.replace(library, "# <render/sh/lib.sh>\n").replace(daemon, "# <render/sh/daemon.sh>\n")).toMatchSnapshot();
  });
});

describe("a custom restart command ending in a # comment", () => {
  const t = target("custom", { restartCommand: "service docker restart # ours" });

  test.each(steps)("%s parses with POSIX sh (dash)", (step) => {
    expect(() => execFileSync("sh", ["-n", "-c", render[step](t)], { stdio: "pipe" })).not.toThrow();
  });

  test("is run, and is no code of the script: the prelude quotes it", () => {
    expect(renderApplyScript(t)).toContain(`RESTART_COMMAND='service docker restart # ours'\n`);
    const fake = fakeBin({ service: "exit 0" });
    const r = spawnSync("sh", ["-c", `${renderLibrary(t)}restart_daemon && echo restarted`], { env: fake.env });
    expect(r.stdout.toString()).toBe("restarted\n");
    expect(fake.log()).toBe("service docker restart\n");
  });
});

describe("the library per init kind", () => {
  const tools = {
    systemctl: "exit 0",
    service: "exit 0",
    "rc-service": "exit 0",
    journalctl: 'echo "journal"',
    tail: 'echo "log file"',
  };
  const run = (t: ScriptTarget, body: string, tl: Record<string, string> = tools) => {
    const fake = fakeBin(tl);
    const r = spawnSync("sh", ["-c", `${renderLibrary(t)}${body}`], { env: fake.env });
    return { status: r.status, stdout: r.stdout.toString(), calls: fake.log() };
  };

  test("systemd: daemon-reload, reset-failed and restart; the journal", () => {
    expect(run(target("systemd"), "restart_daemon").calls).toBe(
      "systemctl daemon-reload\nsystemctl reset-failed docker.service\nsystemctl restart docker.service\n",
    );
    expect(run(target("systemd"), "daemon_log")).toEqual({
      status: 0,
      stdout: "journal\n",
      calls: "journalctl -u docker.service --no-pager -o cat -n 20\n",
    });
  });

  test("systemd: a failed restart is reported even when daemon-reload went well", () => {
    expect(run(target("systemd"), "restart_daemon", { systemctl: `[ "$1" != restart ]` }).status).toBe(1);
  });

  test("sysv: the service script; /var/log/docker.log", () => {
    expect(run(target("sysv"), "restart_daemon").calls).toBe("service docker restart\n");
    expect(run(target("sysv"), "daemon_log")).toEqual({ status: 0, stdout: "log file\n", calls: "tail -n 20 /var/log/docker.log\n" });
  });

  test("custom: the user's command, with its own quoting; the journal, else the log file", () => {
    const t = target("custom", { restartCommand: `rc-service docker restart --note "it's ours"` });
    expect(run(t, "restart_daemon").calls).toBe("rc-service docker restart --note it's ours\n");
    expect(run(t, "daemon_log", { ...tools, journalctl: "exit 1" })).toEqual({
      status: 0,
      stdout: "log file\n",
      calls: "journalctl -u docker.service --no-pager -o cat -n 20\ntail -n 20 /var/log/docker.log\n",
    });
    // A failing command is a failed restart (apply then rolls back).
    expect(run(target("custom", { restartCommand: "exit 3" }), "restart_daemon").status).toBe(3);
  });

  test("custom: a journal with no entries for docker (no such unit) gives the log file", () => {
    const t = target("custom");
    expect(run(t, "daemon_log", { ...tools, journalctl: 'echo "-- No entries --"' }).stdout).toBe("log file\n");
  });

  describe("after a restart: the TLS port serves the installed certificate, and dockerd stays up", () => {
    const dir = tmpDir();
    const make = (name: string) => {
      selfSigned(dir, name, name);
      return path.join(dir, `${name}.pem`);
    };
    const ours = make("ours");
    const other = make("other");
    let server: ReturnType<typeof spawn> | undefined;
    let port = 0;
    beforeAll(async () => {
      port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      // Like dockerd with tlsverify: it demands a client certificate.
      server = spawn(
        "openssl",
        [
          "s_server",
          "-accept",
          `127.0.0.1:${port}`,
          "-cert",
          ours,
          "-key",
          ours.replace(/\.pem$/, "-key.pem"),
          "-Verify",
          "1",
          "-CAfile",
          ours,
          "-quiet",
        ],
        { stdio: "ignore" },
      );
      // Until it accepts connections.
      const accepts = () =>
        new Promise<boolean>((resolve) => {
          const c = net.connect(port, "127.0.0.1", () => c.end(() => resolve(true)));
          c.on("error", () => resolve(false));
        });
      for (let i = 0; i < 100 && !(await accepts()); i++) await new Promise((r) => setTimeout(r, 100));
    }, 20_000);
    afterAll(() => server?.kill());

    test("serves_our_cert: a handshake, the certificate compared with SERVER_CERT", () => {
      const t = (cert: string, p = port) => target("sysv", { port: p, tlsConnect: `127.0.0.1:${p}`, serverCert: cert });
      expect(run(t(ours), "serves_our_cert").status).toBe(0);
      expect(run(t(other), "serves_our_cert").status).toBe(1);
      expect(run(t(ours, 1), "serves_our_cert").status).toBe(1);
    });

    test("stays_up: the same dockerd still serving SETTLE seconds later; a new pid (systemd restarted it) is a crash", () => {
      const t = target("systemd", { port, tlsConnect: `127.0.0.1:${port}`, serverCert: ours, settleSeconds: 1 });
      const systemctl = (pids: string) => `n=$(cat "$FAKE_LOG.n" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_LOG.n"
case "$3" in ActiveState) echo active ;; SubState) echo running ;; MainPID) set -- ${pids}; shift "$n"; echo "$1" ;; esac`;
      expect(run(t, "stays_up", { systemctl: systemctl("41 41 41 41 41") }).status).toBe(0);
      expect(run(t, "stays_up", { systemctl: systemctl("41 57 57 57 57") }).status).toBe(1);
    });
  });

  test("systemd: activating/auto-restart is down; active or activating otherwise is up", () => {
    const alive = (active: string, sub: string) =>
      run(target("systemd"), "daemon_alive", {
        systemctl: `case "$3" in ActiveState) echo ${active} ;; SubState) echo ${sub} ;; esac`,
      }).status;
    expect(alive("activating", "auto-restart")).toBe(1);
    expect(alive("active", "running")).toBe(0);
    expect(alive("activating", "start")).toBe(0);
    expect(alive("reloading", "reload")).toBe(0);
    expect(alive("failed", "failed")).toBe(1);
  });

  test("the TLS port is read from the kernel's socket tables", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      expect(run(target("sysv", { port }), "listening").status).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(run(target("sysv", { port }), "listening").status).toBe(1);
  });
});

describe("steps run against a temporary state dir", () => {
  test("probe: reads the backup, not the live files, once there is one", () => {
    const state = path.join(tmpDir(), "docker-tls");
    fs.mkdirSync(path.join(state, "backup/files/etc/docker"), { recursive: true });
    fs.writeFileSync(path.join(state, "backup/files/etc/docker/daemon.json"), '{"data-root":"/srv"}\n');
    fs.mkdirSync(path.join(state, "backup/absent/etc/default"), { recursive: true });
    fs.writeFileSync(path.join(state, "backup/absent/etc/default/docker"), "");
    // init custom: no init system is required; a systemctl that knows no docker unit.
    const fake = fakeBin({ dockerd: "exit 0", systemctl: "exit 1" });
    const out = execFileSync("sh", ["-c", renderProbeScript(target("custom", { stateDir: state }))], { env: fake.env });
    expect(parseProbe(out.toString())).toEqual({ daemonJson: '{"data-root":"/srv"}\n', defaultDocker: undefined, execStart: undefined });
  });

  /**
   * A state dir in `dir` whose backup holds the host's /etc/docker/daemon.json and /etc/default/docker
   * (absent when undefined), so that the probe reads nothing of this machine's.
   */
  function probeState(dir: string, originals: { daemonJson?: string; defaultDocker?: string } = {}): string {
    const state = path.join(dir, "docker-tls");
    for (const [f, text] of [
      ["etc/docker/daemon.json", originals.daemonJson],
      ["etc/default/docker", originals.defaultDocker],
    ] as const) {
      const saved = path.join(state, text === undefined ? "backup/absent" : "backup/files", f);
      fs.mkdirSync(path.dirname(saved), { recursive: true });
      fs.writeFileSync(saved, text ?? "");
    }
    return state;
  }

  describe("probe on systemd: the unit's ExecStart from its files, without our drop-in, and its --config-file", () => {
    /**
     * A docker unit in `dir`: its fragment, then its drop-ins in the order given, which a fake
     * systemctl reports as FragmentPath and DropInPaths; the probe run on it, parsed.
     */
    function probeUnit(dir: string, fragment: string, dropIns: Record<string, string>, ours: string, init: InitKind = "systemd") {
      const unit = path.join(dir, "lib/systemd/system/docker.service");
      const dropInDir = path.join(dir, "etc/systemd/system/docker.service.d");
      fs.mkdirSync(path.dirname(unit), { recursive: true });
      fs.mkdirSync(dropInDir, { recursive: true });
      fs.writeFileSync(unit, fragment);
      const dropInPaths = Object.entries(dropIns).map(([name, text]) => {
        fs.writeFileSync(path.join(dropInDir, name), text);
        return path.join(dropInDir, name);
      });
      const fake = fakeBin({
        dockerd: "exit 0",
        systemctl: [
          'case "$1 $2 $3" in',
          '  "cat docker.service "*) exit 0 ;;',
          `  "show -p FragmentPath") echo ${unit} ;;`,
          `  "show -p DropInPaths") echo ${dropInPaths.join(" ")} ;;`,
          "  *) exit 1 ;;",
          "esac",
        ].join("\n"),
      });
      const t = target(init, {
        stateDir: probeState(dir, { daemonJson: '{"log-driver":"journald"}\n' }),
        dropInPath: path.join(dropInDir, ours),
      });
      return parseProbe(execFileSync("sh", ["-c", renderProbeScript(t)], { env: fake.env }).toString());
    }
    const STOCK = [
      "[Unit]",
      "Description=Docker Application Container Engine",
      "[Service]",
      "Type=notify",
      "ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
      "ExecReload=/bin/kill -s HUP $MAINPID",
      "[Install]",
      "WantedBy=multi-user.target",
      "",
    ].join("\n");
    const OURS = renderSystemdDropIn(["/usr/bin/dockerd", "--containerd=/run/containerd/containerd.sock"]);

    test("the last ExecStart after a reset wins, across drop-ins and a continued line; its --config-file is read", () => {
      const dir = tmpDir();
      const config = path.join(dir, "srv/docker.json");
      fs.mkdirSync(path.dirname(config));
      fs.writeFileSync(config, '{"data-root":"/srv/docker"}\n');
      const probe = probeUnit(
        dir,
        STOCK,
        {
          "10-config.conf": [
            "[Service]",
            "# a comment: ExecStart=/not/this",
            "ExecStart=",
            "ExecStart=/usr/bin/dockerd -H fd:// \\",
            `  --config-file ${config} --containerd=/run/containerd/containerd.sock`,
            "",
          ].join("\n"),
          "20-env.conf": "[Service]\nEnvironment=HTTP_PROXY=http://proxy:3128\n[Unit]\nExecStart=/not/a/service/setting\n",
          "docker-tls.conf": OURS,
        },
        "docker-tls.conf",
      );
      expect(probe).toEqual({
        daemonJson: '{"log-driver":"journald"}\n',
        defaultDocker: undefined,
        execStart: ["/usr/bin/dockerd", "-H", "fd://", "--config-file", config, "--containerd=/run/containerd/containerd.sock"],
        configFilePath: config,
        configFile: '{"data-root":"/srv/docker"}\n',
      });
    });

    test("with only our drop-in, the fragment's; our drop-in counts when it is not ours", () => {
      const probe = probeUnit(tmpDir(), STOCK, { "docker-tls.conf": OURS }, "docker-tls.conf");
      expect(probe.execStart).toEqual(["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]);
      expect(probe.configFilePath).toBeUndefined();
      // The same files, with the program's drop-in named elsewhere: that file is read like any other.
      expect(probeUnit(tmpDir(), STOCK, { "docker-tls.conf": OURS }, "other.conf").execStart).toEqual([
        "/usr/bin/dockerd",
        "--containerd=/run/containerd/containerd.sock",
      ]);
    });

    test("a reset with nothing after it: ABSENT (the drop-in then uses the stock command)", () => {
      expect(probeUnit(tmpDir(), STOCK, { "10-reset.conf": "[Service]\nExecStart=\n" }, "docker-tls.conf").execStart).toBeUndefined();
    });

    test("a --config-file named but missing: its path, no content; init custom does not look for one", () => {
      const dropIns = { "10-config.conf": '[Service]\nExecStart=\nExecStart=/usr/bin/dockerd "--config-file=/nonexistent/docker.json"\n' };
      expect(probeUnit(tmpDir(), STOCK, dropIns, "docker-tls.conf")).toMatchObject({
        configFilePath: "/nonexistent/docker.json",
        configFile: undefined,
      });
      expect(probeUnit(tmpDir(), STOCK, dropIns, "docker-tls.conf", "custom")).toMatchObject({
        execStart: ["/usr/bin/dockerd", "--config-file=/nonexistent/docker.json"],
        configFilePath: undefined,
        configFile: undefined,
      });
    });
  });

  describe("probe on sysv: the --config-file of the original DOCKER_OPTS", () => {
    const probeSysv = (dir: string, defaultDocker: string) => {
      const fake = fakeBin({ dockerd: "exit 0", service: "exit 0", systemctl: "exit 1" });
      const t = target("sysv", { stateDir: probeState(dir, { daemonJson: '{"log-driver":"journald"}\n', defaultDocker }) });
      return parseProbe(execFileSync("sh", ["-c", renderProbeScript(t)], { env: fake.env }).toString());
    };

    test("the DOCKER_OPTS in effect: the last assignment, after the one it extends", () => {
      const dir = tmpDir();
      const config = path.join(dir, "docker.json");
      fs.writeFileSync(config, '{"bip":"172.30.0.1/16"}\n');
      const defaultDocker = [
        '# DOCKER_OPTS="--config-file=/commented/out.json"',
        `DOCKER_OPTS="--config-file=/replaced/below.json"`,
        `DOCKER_OPTS="--config-file ${config}"`,
        'export DOCKER_OPTS="$DOCKER_OPTS --dns 8.8.8.8"',
        "",
      ].join("\n");
      expect(probeSysv(dir, defaultDocker)).toEqual({
        daemonJson: '{"log-driver":"journald"}\n',
        defaultDocker,
        execStart: undefined,
        configFilePath: config,
        configFile: '{"bip":"172.30.0.1/16"}\n',
      });
    });

    test("a relative path is from / (dockerd's working directory); none: ABSENT", () => {
      expect(probeSysv(tmpDir(), "DOCKER_OPTS='--config-file=nonexistent/docker-tls.json'\n").configFilePath).toBe(
        "/nonexistent/docker-tls.json",
      );
      expect(probeSysv(tmpDir(), 'DOCKER_OPTS="--dns 8.8.8.8"\n')).toMatchObject({ configFilePath: undefined, configFile: undefined });
    });
  });

  test("restore: nothing to restore without a backup", () => {
    const state = path.join(tmpDir(), "docker-tls");
    const r = spawnSync("sh", ["-c", renderRestoreScript(target("systemd", { stateDir: state }))]);
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toBe("docker-tls[web1]: nothing to restore\n");
  });

  test("apply: a staged copy missing fails with the host's name", () => {
    const state = path.join(tmpDir(), "docker-tls");
    fs.mkdirSync(path.join(state, "next"), { recursive: true });
    const r = spawnSync("sh", ["-c", renderApplyScript(target("sysv", { stateDir: state }))], {
      input: renderManifest([{ path: "/x/a", mode: "0444", content: "a" }]),
    });
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toBe(
      "host web1: the staged copy of /x/a is missing; run pulumi up --refresh (its audit stages and installs the files again)\n",
    );
  });

  // install_file gives the files to root:root, as on hosts: this needs root (CI runs as root).
  const asRoot = process.getuid?.() === 0 ? test : test.skip;
  asRoot(
    "apply with a custom restart command ending in # ours: runs it, and rolls back when dockerd does not listen",
    () => {
      const dir = tmpDir();
      const state = path.join(dir, "docker-tls");
      const live = path.join(dir, "live");
      fs.mkdirSync(live);
      fs.writeFileSync(path.join(live, "daemon.json"), "old\n");
      const files = [
        { path: path.join(live, "daemon.json"), mode: "0644", content: "new\n" },
        { path: path.join(live, "server-key.pem"), mode: "0400", content: "key\n" },
      ];
      // Port 1 (tcpmux): nothing listens there, so the new configuration never comes up.
      const t = target("custom", { restartCommand: "service docker restart # ours", port: 1, waitSeconds: 1, stateDir: state });
      const fake = fakeBin({ service: "exit 0", journalctl: 'echo "the daemon said no"' });
      execFileSync("sh", ["-c", renderUploadScript(t)], { input: renderUploadPayload(files), env: fake.env });
      // What a previous run installed: the live daemon.json.
      const previous = `${sha256("old\n")} 644 ${files[0].path} ${sha256("old\n")}\n`;
      fs.writeFileSync(path.join(state, "manifest"), previous);
      const r = spawnSync("sh", ["-c", renderApplyScript(t)], { input: renderManifest(files), env: fake.env });

      expect(fake.log()).toBe(
        ["service docker restart", "journalctl -u docker.service --no-pager -o cat -n 20", "service docker restart", ""].join("\n"),
      );
      expect(r.status).toBe(1);
      const stderr = r.stderr.toString();
      const changed = ` ${files[0].path} ${files[1].path}`;
      expect(stderr).toContain(`docker-tls[web1]: changed:${changed}; restarting dockerd\n`);
      expect(stderr).toContain("docker-tls[web1]: dockerd did not come back; restoring the previous configuration\n");
      expect(stderr).toContain(
        `host web1: dockerd did not start with the new configuration (changed:${changed}), so the previous files were restored;`,
      );
      expect(stderr).toMatch(/Last lines of the daemon log:\nthe daemon said no\n$/);
      // The previous files are back, and the host's originals are kept for destroy.
      expect(fs.readdirSync(live)).toEqual(["daemon.json"]);
      expect(fs.readFileSync(path.join(live, "daemon.json"), "utf8")).toBe("old\n");
      expect(fs.readFileSync(path.join(state, `backup/files${files[0].path}`), "utf8")).toBe("old\n");
      expect(fs.existsSync(path.join(state, `backup/absent${files[1].path}`))).toBe(true);
      // The list of what is installed is the previous one again (destroy compares the live files with it).
      expect(fs.readFileSync(path.join(state, "manifest"), "utf8")).toBe(previous);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.readdirSync(path.join(state, "next")).sort()).toEqual(files.map((f) => sha256(f.content)).sort());
    },
    20_000,
  );
});

describe("ownership: the owner record in the state folder", () => {
  const OWNER_FILE = (owner: string) => `${owner}\nsince 2026-11-01T00:00:00Z\n`;
  /** A state folder (in a temp dir standing for /etc/docker) that `owner` claimed. */
  function ownedState(owner: string): string {
    const state = path.join(tmpDir(), "docker-tls");
    fs.mkdirSync(path.join(state, "backup"), { recursive: true });
    fs.writeFileSync(path.join(state, "backup/etc-docker.mode"), "755\n");
    fs.writeFileSync(path.join(state, "owner"), OWNER_FILE(owner));
    return state;
  }
  const runStep = (script: string, input = "", env?: NodeJS.ProcessEnv) => {
    const r = spawnSync("sh", ["-c", script], { input, env });
    return { status: r.status, stderr: r.stderr.toString() };
  };
  const files = [{ path: "/nonexistent/docker-tls-test/a", mode: "0444", content: "a\n" }];

  test.each(["probe", "upload", "apply"] as const)("%s refuses a host another stack owns, naming it, and changes nothing", (step) => {
    const state = ownedState("docker-tls/prod/web1");
    const t = target("sysv", { stateDir: state, owner: "docker-tls/staging/web1" });
    const input = step === "upload" ? renderUploadPayload(files) : step === "apply" ? renderManifest(files) : "";
    const fake = fakeBin({ dockerd: "exit 0", service: "exit 0" });
    const r = runStep(render[step](t), input, fake.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "host web1: is managed by docker-tls/prod/web1 (project/stack/host entry) since 2026-11-01T00:00:00Z; nothing was changed.",
    );
    expect(r.stderr).toContain("set takeOver: true on this host entry");
    expect(fs.readdirSync(state).sort()).toEqual(["backup", "owner"]);
    expect(fs.readFileSync(path.join(state, "owner"), "utf8")).toBe(OWNER_FILE("docker-tls/prod/web1"));
  });

  test("upload: another entry of the same stack (a rename) adopts the host; takeOver takes it from another stack", () => {
    const renamed = ownedState("docker-tls/prod/web1");
    const r = runStep(
      renderUploadScript(target("sysv", { stateDir: renamed, owner: "docker-tls/prod/web1b" })),
      renderUploadPayload(files),
    );
    expect(r).toEqual({
      status: 0,
      stderr: "docker-tls[web1]: adopting the host from entry web1 of this stack (renamed or re-addressed)\n",
    });
    expect(fs.readFileSync(path.join(renamed, "owner"), "utf8")).toMatch(/^docker-tls\/prod\/web1b\nsince /);

    const taken = ownedState("docker-tls/prod/web1");
    const t = target("sysv", { stateDir: taken, owner: "docker-tls/staging/web1", takeOver: true });
    expect(runStep(renderUploadScript(t), renderUploadPayload(files))).toEqual({
      status: 0,
      stderr: "docker-tls[web1]: taking the host over from docker-tls/prod/web1 (takeOver is set)\n",
    });
    expect(fs.readFileSync(path.join(taken, "owner"), "utf8")).toMatch(/^docker-tls\/staging\/web1\n/);
    // The host's original mode of /etc/docker stays the one its first owner saved.
    expect(fs.readFileSync(path.join(taken, "backup/etc-docker.mode"), "utf8")).toBe("755\n");
  });

  test("unstage and restore leave a host that another entry owns now as it is", () => {
    const state = ownedState("docker-tls/prod/web1b");
    fs.mkdirSync(path.join(state, "next"));
    fs.writeFileSync(path.join(state, "next", sha256("a\n")), "a\n");
    const old = target("sysv", { stateDir: state, owner: "docker-tls/prod/web1" });
    const fake = fakeBin({ service: "exit 0" });
    expect(runStep(renderUnstageScript(old))).toEqual({
      status: 0,
      stderr: "docker-tls[web1]: the host is managed by docker-tls/prod/web1b now; its staged files stay\n",
    });
    expect(runStep(renderRestoreScript(old), "", fake.env)).toEqual({
      status: 0,
      stderr: "docker-tls[web1]: the host is managed by docker-tls/prod/web1b now; leaving it as it is\n",
    });
    expect(fake.log()).toBe("");
    expect(fs.readdirSync(path.join(state, "next"))).toEqual([sha256("a\n")]);
  });

  test("restore: a managed file changed since it was installed: nothing is restored, the originals stay in the backup", () => {
    const dir = tmpDir();
    const state = ownedState("docker-tls/unit/web1");
    const live = path.join(dir, "daemon.json");
    fs.writeFileSync(live, '{"edited":"by hand"}\n');
    fs.mkdirSync(path.join(state, `backup/files${dir}`), { recursive: true });
    fs.writeFileSync(path.join(state, `backup/files${live}`), "original\n");
    fs.writeFileSync(path.join(state, "manifest"), `${sha256("installed\n")} 644 ${live}\n`);
    const fake = fakeBin({ service: "exit 0" });
    const r = runStep(renderRestoreScript(target("sysv", { stateDir: state })), "", fake.env);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`changed on the host since this program installed them: ${live}. Nothing was restored`);
    expect(fs.readFileSync(live, "utf8")).toBe('{"edited":"by hand"}\n');
    expect(fs.readFileSync(path.join(state, `backup/files${live}`), "utf8")).toBe("original\n");
    expect(fake.log()).toBe("");
  });

  test("apply: a list of files cut short (no `end`) changes nothing", () => {
    const state = ownedState("docker-tls/unit/web1");
    const r = runStep(renderApplyScript(target("sysv", { stateDir: state })), renderManifest(files).replace(/end\n$/, ""));
    expect(r).toEqual({
      status: 1,
      stderr: "host web1: the list of files on stdin is incomplete (the connection dropped?); nothing was changed\n",
    });
    expect(fs.existsSync(path.join(state, "manifest"))).toBe(false);
  });

  test("upload: a full disk while staging is a clear error, and the host is as it was", () => {
    const etc = tmpDir();
    const state = path.join(etc, "docker-tls");
    fs.mkdirSync(path.join(state, "next"), { recursive: true });
    // Writes to the incoming file fail as on a full disk.
    fs.symlinkSync("/dev/full", path.join(state, "next", ".incoming"));
    fs.chmodSync(etc, 0o755);
    const r = runStep(renderUploadScript(target("sysv", { stateDir: state })), renderUploadPayload(files));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^host web1: cannot stage the files in .*\/next \(cannot write a file\); nothing was changed\. Free space on the host/,
    );
    expect(fs.readdirSync(path.join(state, "next"))).toEqual([]);
    expect(fs.existsSync(path.join(state, "owner"))).toBe(false);
    expect(fs.statSync(etc).mode & 0o777).toBe(0o755);
  });
});

describe("the host's clock, checked by the upload step before it writes anything", () => {
  const files = [{ path: "/nonexistent/docker-tls-test/a", mode: "0444", content: "a\n" }];
  /** A `date` that answers as a host whose clock is `behind` seconds behind, for `+%s`; the real one otherwise. */
  const clockBehind = (behind: number) =>
    fakeBin({ date: `case "$*" in *+%s*) echo $(( $(/bin/date -u +%s) - ${behind} )) ;; *) /bin/date "$@" ;; esac` });

  test("a host behind the youngest client certificate's start is refused, naming it; nothing is staged", () => {
    const state = path.join(tmpDir(), "docker-tls");
    const validFrom = { epoch: Math.floor(Date.now() / 1000) - 30, what: "client certificate bob" };
    const r = spawnSync("sh", ["-c", renderUploadScript(target("sysv", { stateDir: state }))], {
      input: renderUploadPayload(files, validFrom),
      env: clockBehind(600).env,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toMatch(
      /^host web1: its clock is 5[67]\d s behind: client certificate bob, valid from \S+Z, is not valid yet at the host's time \S+Z, so dockerd would refuse it; nothing was changed\./,
    );
    expect(fs.existsSync(state)).toBe(false);
  });

  test("a host whose clock is past it stages the files", () => {
    const state = path.join(tmpDir(), "docker-tls");
    const validFrom = { epoch: Math.floor(Date.now() / 1000) - 3600, what: "client certificate ci" };
    const r = spawnSync("sh", ["-c", renderUploadScript(target("sysv", { stateDir: state }))], {
      input: renderUploadPayload(files, validFrom),
      env: clockBehind(600).env,
    });
    expect({ status: r.status, stderr: r.stderr.toString() }).toEqual({ status: 0, stderr: "" });
    expect(fs.readdirSync(path.join(state, "next"))).toEqual([sha256("a\n")]);
  });
});

describe("the docker group, enforced (security.enforceDockerGroup): apply removes, destroy puts back", () => {
  const GROUP = "root:x:0:\ndocker:x:999:alice,eve,bob\nstaff:x:50:eve\n";
  const GSHADOW = "root:*::\ndocker:!::alice,eve,bob\nstaff:!::eve\n";
  const PASSWD =
    "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\neve:x:1001:1001::/:/bin/sh\nbob:x:1002:1002::/:/bin/sh\nsvc:x:998:999::/:/bin/false\n";
  /** A folder standing for `/` with group, gshadow and passwd, and a state folder. */
  function groupRoot(): { root: string; state: string; read: (f: string) => string } {
    const root = tmpDir();
    fs.mkdirSync(path.join(root, "etc"));
    fs.writeFileSync(path.join(root, "etc/group"), GROUP, { mode: 0o644 });
    fs.writeFileSync(path.join(root, "etc/gshadow"), GSHADOW, { mode: 0o640 });
    fs.chmodSync(path.join(root, "etc/gshadow"), 0o640);
    fs.writeFileSync(path.join(root, "etc/passwd"), PASSWD);
    const state = path.join(root, "etc/docker/docker-tls");
    fs.mkdirSync(state, { recursive: true });
    return { root, state, read: (f) => fs.readFileSync(path.join(root, f), "utf8") };
  }
  // Without gpasswd the library edits the files itself; a test with it uses a fake one that logs.
  const farm = pathWithout(tmpDir(), ["gpasswd"]);
  const lib = (allowed: string[] | undefined, state: string, root: string) =>
    renderLibrary(target("systemd", { stateDir: state, rootDir: root, ...(allowed ? { dockerGroup: allowed } : {}) }));
  const runLib = (
    body: string,
    allowed: string[] | undefined,
    g: { root: string; state: string },
    env: NodeJS.ProcessEnv = { PATH: farm },
  ) => {
    const r = spawnSync("sh", ["-c", `${lib(allowed, g.state, g.root)}${body}`], { env });
    return { status: r.status, stderr: r.stderr.toString() };
  };

  test("the apply step's prelude carries the allowed list: a change of it is a change of the apply command", () => {
    const on = renderApplyScript(target("systemd", { dockerGroup: ["alice", "bob"] }));
    expect(on).toContain("DOCKER_GROUP_ENFORCE='yes'\nDOCKER_GROUP_ALLOWED='alice bob'\n");
    expect(renderApplyScript(target("systemd"))).toContain("DOCKER_GROUP_ENFORCE='no'\nDOCKER_GROUP_ALLOWED=''\n");
    expect(renderApplyScript(target("systemd", { dockerGroup: ["alice"] }))).not.toBe(on);
    expect(on).not.toMatch(/^ROOT_DIR=/m); // tests only
  });

  test("without gpasswd: members not allowed leave group and gshadow (owner and mode kept, no lock left); the first list is kept", () => {
    const g = groupRoot();
    expect(runLib("enforce_docker_group", ["alice"], g)).toEqual({
      status: 0,
      stderr:
        "docker-tls[web1]: removed from the docker group (not in security.dockerGroup): eve bob\n" +
        "docker-tls[web1]: docker is the primary group of svc, which this program does not change: change it (usermod -g GROUP USER)\n",
    });
    expect(g.read("etc/group")).toBe("root:x:0:\ndocker:x:999:alice\nstaff:x:50:eve\n");
    expect(g.read("etc/gshadow")).toBe("root:*::\ndocker:!::alice\nstaff:!::eve\n");
    expect(fs.statSync(path.join(g.root, "etc/gshadow")).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(path.join(g.root, "etc")).sort()).toEqual(["docker", "group", "gshadow", "passwd"]);
    expect(fs.readFileSync(path.join(g.state, "docker-group.orig"), "utf8")).toBe("alice eve bob \n");
    // Again, with eve added back by hand: removed again; the original list stays the first one.
    fs.writeFileSync(path.join(g.root, "etc/group"), "root:x:0:\ndocker:x:999:alice,eve\nstaff:x:50:eve\n");
    expect(runLib("enforce_docker_group", ["alice", "svc"], g).stderr).toBe(
      "docker-tls[web1]: removed from the docker group (not in security.dockerGroup): eve\n",
    );
    expect(fs.readFileSync(path.join(g.state, "docker-group.orig"), "utf8")).toBe("alice eve bob \n");
  });

  test("not enforced, or no docker group: nothing changes", () => {
    const g = groupRoot();
    expect(runLib("enforce_docker_group", undefined, g)).toEqual({ status: 0, stderr: "" });
    expect(g.read("etc/group")).toBe(GROUP);
    fs.writeFileSync(path.join(g.root, "etc/group"), "root:x:0:\n");
    expect(runLib("enforce_docker_group", [], g).stderr).toBe(
      `docker-tls[web1]: no docker group in ${g.root}/etc/group: nothing to enforce\n`,
    );
    expect(fs.existsSync(path.join(g.state, "docker-group.orig"))).toBe(false);
  });

  test("a group file locked by another tool: waits, then fails naming the lock; nothing is changed", () => {
    const g = groupRoot();
    fs.writeFileSync(path.join(g.root, "etc/group.lock"), "12345\n");
    const r = runLib("enforce_docker_group", [], g);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${g.root}/etc/group stays locked (${g.root}/etc/group.lock)`);
    expect(r.stderr).toContain("host web1: cannot remove alice from the docker group; nothing else was changed");
    expect(g.read("etc/group")).toBe(GROUP);
  }, 20_000);

  test("with gpasswd: it does the work (-Q ROOT in tests, never the machine's files)", () => {
    const g = groupRoot();
    const fake = fakeBin({ gpasswd: "exit 0" });
    expect(runLib("enforce_docker_group", ["bob"], g, fake.env).status).toBe(0);
    expect(fake.log()).toBe(`gpasswd -Q ${g.root} -d alice docker\ngpasswd -Q ${g.root} -d eve docker\n`);
  });

  test("destroy: the original members come back, those still users and not members already; nobody is removed", () => {
    const g = groupRoot();
    expect(runLib("enforce_docker_group", [], g).status).toBe(0);
    expect(g.read("etc/group")).toContain("docker:x:999:\n");
    // Since then: bob is no user any more, carol was added by hand.
    fs.writeFileSync(path.join(g.root, "etc/passwd"), PASSWD.replace(/^bob:.*\n/m, ""));
    fs.writeFileSync(path.join(g.root, "etc/group"), g.read("etc/group").replace("docker:x:999:", "docker:x:999:carol"));
    expect(runLib("restore_docker_group", undefined, g)).toEqual({
      status: 0,
      stderr:
        "docker-tls[web1]: bob was in the docker group, and is no user any more: not put back\n" +
        "docker-tls[web1]: put back into the docker group: alice eve\n",
    });
    expect(g.read("etc/group")).toBe("root:x:0:\ndocker:x:999:carol,alice,eve\nstaff:x:50:eve\n");
    expect(g.read("etc/gshadow")).toBe("root:*::\ndocker:!::alice,eve\nstaff:!::eve\n");
    expect(fs.existsSync(path.join(g.state, "docker-group.orig"))).toBe(false);
    // Nothing recorded: nothing to do.
    expect(runLib("restore_docker_group", undefined, g)).toEqual({ status: 0, stderr: "" });
  });

  test("restore.sh puts the group back before the files, also when the files changed by hand", () => {
    const g = groupRoot();
    fs.writeFileSync(path.join(g.state, "docker-group.orig"), "eve \n");
    fs.writeFileSync(path.join(g.root, "etc/group"), GROUP.replace("alice,eve,bob", "alice,bob"));
    fs.mkdirSync(path.join(g.state, "backup"));
    fs.writeFileSync(path.join(g.state, "owner"), "docker-tls/unit/web1\nsince 2026-11-01T00:00:00Z\n");
    const live = path.join(g.root, "daemon.json");
    fs.writeFileSync(live, "edited by hand\n");
    fs.writeFileSync(path.join(g.state, "manifest"), `${sha256("installed\n")} 644 ${live}\n`);
    const r = spawnSync("sh", ["-c", renderRestoreScript(target("sysv", { stateDir: g.state, rootDir: g.root }))], { env: { PATH: farm } });
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toMatch(/^docker-tls\[web1\]: put back into the docker group: eve\n.*Nothing was restored/s);
    expect(g.read("etc/group")).toContain("docker:x:999:alice,bob,eve\n");
  });
});
