/** Certificates made with openssl, for tests that need PKI material from outside the program. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const openssl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), "utf8");

/**
 * A self-signed EC P-256 certificate valid for a day, written as `${name}.pem` and `${name}-key.pem`
 * in `dir`; `san` adds a subjectAltName (`IP:127.0.0.1`).
 */
export function selfSigned(dir: string, name: string, cn: string, san?: string): { cert: string; key: string } {
  const ext = san ? ["-addext", `subjectAltName=${san}`] : [];
  openssl(dir, ["req", "-x509", ...EC, "-subj", `/CN=${cn}`, ...ext, "-days", "1", "-keyout", `${name}-key.pem`, "-out", `${name}.pem`]);
  return { cert: read(dir, `${name}.pem`), key: read(dir, `${name}-key.pem`) };
}

/** A CA that the program does not know, and a client certificate (clientAuth) it issued. */
export function foreignClient(dir: string): { ca: string; cert: string; key: string } {
  const ca = selfSigned(dir, "ca", "other CA");
  openssl(dir, ["req", ...EC, "-subj", "/CN=intruder", "-keyout", "key.pem", "-out", "req.pem"]);
  fs.writeFileSync(path.join(dir, "ext.cnf"), "extendedKeyUsage=clientAuth\n");
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "req.pem",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca-key.pem",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
    "-out",
    "cert.pem",
  ]);
  return { ca: ca.cert, cert: read(dir, "cert.pem"), key: read(dir, "key.pem") };
}
