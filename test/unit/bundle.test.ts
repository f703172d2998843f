// The client bundle on disk (scripts/lib/bundle.ts writeBundle): modes, the folder's mode left
// alone, and no write through a symbolic link or into a folder others may write to.
// Default imports: the modules themselves, so that a spy on one of their functions is what
// bundle.ts calls.
import crypto from "crypto";
import fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackOutputs, writeBundle } from "../../scripts/lib/bundle";

const OUTPUTS: StackOutputs = {
  caCertPem: "CA\n",
  clientCertificates: { ci: { certPem: "CERT\n", keyPem: "KEY\n", notAfter: "2027-01-01T00:00:00Z" } },
  dockerHosts: {},
};

const tmpDirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "dtls-bundle-"));
  tmpDirs.push(d);
  return d;
};
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
afterEach(() => jest.restoreAllMocks());

const modeOf = (p: string) => fs.lstatSync(p).mode & 0o7777;
const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), "utf8");

test("a new folder (and its missing parents) is made 0700; the certificates are 0444 and the key 0400", () => {
  const dir = path.join(tmpDir(), "docker", "prod");
  writeBundle(OUTPUTS, "ci", dir);
  expect(modeOf(dir)).toBe(0o700);
  expect(modeOf(path.dirname(dir))).toBe(0o700);
  expect(fs.readdirSync(dir).sort()).toEqual(["ca.pem", "cert.pem", "key.pem"]);
  expect([read(dir, "ca.pem"), read(dir, "cert.pem"), read(dir, "key.pem")]).toEqual(["CA\n", "CERT\n", "KEY\n"]);
  expect(["ca.pem", "cert.pem", "key.pem"].map((f) => modeOf(path.join(dir, f)))).toEqual([0o444, 0o444, 0o400]);
});

test("the modes are exact whatever the umask", () => {
  const dir = tmpDir();
  const old = process.umask(0o077);
  try {
    writeBundle(OUTPUTS, "ci", dir);
  } finally {
    process.umask(old);
  }
  expect(modeOf(path.join(dir, "ca.pem"))).toBe(0o444);
});

test.each(["700", "750", "755"])("an existing folder keeps its mode (%s); a second run replaces the files", (octal) => {
  const mode = parseInt(octal, 8);
  const dir = tmpDir();
  fs.chmodSync(dir, mode);
  writeBundle(OUTPUTS, "ci", dir);
  const renewed = { ...OUTPUTS, clientCertificates: { ci: { ...OUTPUTS.clientCertificates.ci, keyPem: "KEY2\n" } } };
  writeBundle(renewed, "ci", dir);
  expect(modeOf(dir)).toBe(mode);
  expect(read(dir, "key.pem")).toBe("KEY2\n");
  expect(modeOf(path.join(dir, "key.pem"))).toBe(0o400);
  expect(fs.readdirSync(dir).sort()).toEqual(["ca.pem", "cert.pem", "key.pem"]);
});

test.each([
  ["777", "its group and others"],
  ["770", "its group"],
  ["1707", "others"],
])("a folder others may write to (%s) is refused, naming it, and left as it is", (octal, who) => {
  const mode = parseInt(octal, 8);
  const dir = tmpDir();
  fs.chmodSync(dir, mode);
  expect(() => writeBundle(OUTPUTS, "ci", dir)).toThrow(`${dir} is writable by ${who} (mode ${octal})`);
  expect(() => writeBundle(OUTPUTS, "ci", dir)).toThrow(`chmod go-w ${dir}`);
  expect(modeOf(dir)).toBe(mode);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test("a key.pem that is a symbolic link is refused, naming it; its target and the folder are untouched", () => {
  const dir = tmpDir();
  const elsewhere = tmpDir();
  const target = path.join(elsewhere, "precious");
  fs.writeFileSync(target, "not yours\n", { mode: 0o644 });
  fs.symlinkSync(target, path.join(dir, "key.pem"));
  expect(() => writeBundle(OUTPUTS, "ci", dir)).toThrow(`${path.join(dir, "key.pem")} is a symbolic link`);
  expect(fs.readFileSync(target, "utf8")).toBe("not yours\n");
  expect(modeOf(target)).toBe(0o644);
  // Refused before anything was written: no certificate either, and no temporary file.
  expect(fs.readdirSync(dir)).toEqual(["key.pem"]);
  expect(fs.readlinkSync(path.join(dir, "key.pem"))).toBe(target);
});

test("a dangling symbolic link is refused too", () => {
  const dir = tmpDir();
  fs.symlinkSync(path.join(dir, "nowhere"), path.join(dir, "ca.pem"));
  expect(() => writeBundle(OUTPUTS, "ci", dir)).toThrow(`${path.join(dir, "ca.pem")} is a symbolic link`);
  expect(fs.existsSync(path.join(dir, "nowhere"))).toBe(false);
});

test("files left by an interrupted run under temporary names do not get in the way, and are not touched", () => {
  const dir = tmpDir();
  const victim = path.join(tmpDir(), "victim");
  fs.writeFileSync(victim, "untouched\n");
  // The former naming (`.NAME.PID`) and the current one, one of them a link.
  fs.writeFileSync(path.join(dir, `.key.pem.${process.pid}`), "old\n");
  fs.symlinkSync(victim, path.join(dir, ".key.pem.0123456789abcdef.tmp"));
  writeBundle(OUTPUTS, "ci", dir);
  expect(read(dir, "key.pem")).toBe("KEY\n");
  expect(fs.readFileSync(victim, "utf8")).toBe("untouched\n");
  expect(new Set(fs.readdirSync(dir))).toEqual(
    new Set([`.key.pem.${process.pid}`, ".key.pem.0123456789abcdef.tmp", "ca.pem", "cert.pem", "key.pem"]),
  );
});

test("a temporary name that exists (even as a link) is never opened: a clear error, and that file stays", () => {
  const dir = tmpDir();
  const victim = path.join(tmpDir(), "victim");
  fs.writeFileSync(victim, "untouched\n");
  // Every temporary name is then `.NAME.0000000000000000.tmp`.
  jest.spyOn(crypto, "randomBytes").mockImplementation(((n: number) => Buffer.alloc(n)) as unknown as typeof crypto.randomBytes);
  const tmp = path.join(dir, ".ca.pem.0000000000000000.tmp");
  fs.symlinkSync(victim, tmp);
  expect(() => writeBundle(OUTPUTS, "ci", dir)).toThrow(/EEXIST.*\.ca\.pem\.0000000000000000\.tmp/);
  expect(fs.readFileSync(victim, "utf8")).toBe("untouched\n");
  expect(fs.readlinkSync(tmp)).toBe(victim);
  expect(fs.readdirSync(dir)).toEqual([".ca.pem.0000000000000000.tmp"]);
});

test("a failure after the temporary file was made removes it; the key in place stays", () => {
  const dir = tmpDir();
  writeBundle(OUTPUTS, "ci", dir);
  // The first flush, of the new ca.pem, fails as on a failing disk.
  jest.spyOn(fs, "fsyncSync").mockImplementationOnce(() => {
    throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
  });
  const renewed = { ...OUTPUTS, clientCertificates: { ci: { ...OUTPUTS.clientCertificates.ci, keyPem: "KEY2\n" } } };
  expect(() => writeBundle(renewed, "ci", dir)).toThrow("EIO");
  expect(fs.readdirSync(dir).sort()).toEqual(["ca.pem", "cert.pem", "key.pem"]);
  expect(read(dir, "ca.pem")).toBe("CA\n");
  expect(read(dir, "key.pem")).toBe("KEY\n");
});

test("a client the stack does not have: an error listing those it has", () => {
  expect(() => writeBundle(OUTPUTS, "cd", tmpDir())).toThrow('client "cd" is not in the stack outputs (clients: ci)');
});
