import { X509Certificate } from "crypto";

/** SHA-256 fingerprint of a PEM certificate, as `AB:CD:…` (the form openssl and browsers show). */
export function fingerprintSha256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
