/** sandbox/exec.ts: the one process and command-line helper of the sandbox and the npm scripts. */
import { CommandError, out, parseArgs, run } from "../../sandbox/exec";

describe("run", () => {
  test("collects stdout and stderr, and feeds the input on stdin", async () => {
    const r = await run("sh", ["-c", 'cat; echo "to stderr" >&2'], { input: "from stdin\n" });
    expect(r).toEqual({ stdout: "from stdin\n", stderr: "to stderr\n", code: 0 });
  });

  test("a failure names the command, its arguments, its exit code and what it said", async () => {
    const e = await run("sh", ["-c", "echo nope >&2; exit 3"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect((e as Error).message).toBe("sh -c echo nope >&2; exit 3 exited 3: nope");
  });

  test("allowFail resolves with the exit code", async () => {
    expect((await run("sh", ["-c", "exit 4"], { allowFail: true })).code).toBe(4);
  });

  test("a command that is not there", async () => {
    await expect(run("dtls-no-such-command", [])).rejects.toThrow("command not found: dtls-no-such-command");
  });

  test("a command past its timeout is killed and counts as exit 124", async () => {
    expect((await run("sleep", ["10"], { timeoutMs: 200, allowFail: true })).code).toBe(124);
  });

  test('stdio "stdout" collects stdout only; cwd and env reach the command', async () => {
    const r = await run("sh", ["-c", 'echo "$PWD $DTLS_TEST"'], { cwd: "/", env: { ...process.env, DTLS_TEST: "x" }, stdio: "stdout" });
    expect(r).toEqual({ stdout: "/ x\n", stderr: "", code: 0 });
    expect(await out("echo", [" padded "])).toBe("padded");
  });

  test('stdio "inherit" collects nothing; a failure still names the command', async () => {
    expect(await run("true", [], { stdio: "inherit" })).toEqual({ stdout: "", stderr: "", code: 0 });
    await expect(run("sh", ["-c", "exit 5"], { stdio: "inherit" })).rejects.toThrow(/^sh -c exit 5 exited 5$/);
  });
});

describe("parseArgs", () => {
  const spec = { flags: ["json", "sandbox"], options: ["stack", "dir"] } as const;

  test("flags, options as two words or with =", () => {
    expect(parseArgs(["--stack", "prod", "--json", "--dir=/tmp/x"], spec)).toEqual({ stack: "prod", json: true, dir: "/tmp/x" });
    expect(parseArgs([], spec)).toEqual({});
  });

  test("an unknown or misspelt argument is an error, not a value or ignored", () => {
    expect(() => parseArgs(["--stack", "dev", "--sandbx"], spec)).toThrow('unknown argument "--sandbx"');
    expect(() => parseArgs(["prod"], spec)).toThrow('unknown argument "prod"');
    expect(() => parseArgs(["--json=yes"], spec)).toThrow('unknown argument "--json=yes"');
  });

  test("an option without its value is an error", () => {
    expect(() => parseArgs(["--stack"], spec)).toThrow("--stack needs a value");
    expect(() => parseArgs(["--stack", "--sandbox"], spec)).toThrow("--stack needs a value");
  });
});
