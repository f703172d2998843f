/** Shared by the certificate components: how a KeyAlgorithm maps to tls.PrivateKey arguments. */
import type * as tls from "@pulumi/tls";
import type { KeyAlgorithm } from "../config";

export function privateKeyArgs(algorithm: KeyAlgorithm): tls.PrivateKeyArgs {
  const [kind, size] = algorithm.split("-");
  return kind === "RSA" ? { algorithm: "RSA", rsaBits: Number(size) } : { algorithm: "ECDSA", ecdsaCurve: size };
}

/**
 * Key usages of a leaf certificate. RSA key exchange needs key_encipherment; ECDSA keys only sign.
 * Both get it for RSA so that old clients doing RSA key transport still work.
 */
export function leafKeyUsages(algorithm: KeyAlgorithm): string[] {
  return algorithm.startsWith("RSA") ? ["digital_signature", "key_encipherment"] : ["digital_signature"];
}
