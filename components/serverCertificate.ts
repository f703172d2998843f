import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "./certificateAuthority";
import { CertificateSettings, LeafCertificate, certificateSettings } from "./keys";
import { fingerprintSha256 } from "./fingerprint";

/** Every value is explicit: the defaults are config.ts's (`pki.*`, `hosts[i].*`), applied once there. */
export interface ServerCertificateArgs extends CertificateSettings {
  /** The CA that signs it; clients trust this CA's certificate as `ca.pem`. */
  ca: CertificateAuthority;
  /** Common name: the host's name. */
  commonName: string;
  /** The address clients use (IP or DNS name); always a SAN. */
  address: string;
  /** Extra DNS SANs: `hosts[i].dnsNames`. */
  dnsNames: string[];
  /** Extra IP SANs: `hosts[i].ipAddresses`. */
  ipAddresses: string[];
  /** What the certificate is for people (`server of host web1`): its expiry warnings say it. */
  role: string;
  /** The command that reissues it now (`npm run rotate -- --stack prod --host web1`), for its expiry warnings. */
  reissue?: string;
}

/**
 * The SANs of a host's server certificate: its address, its extra names and addresses, and
 * localhost/127.0.0.1 (so that a client on the host itself can verify it too). Sorted and
 * de-duplicated, so that reordering the config does not reissue the certificate.
 */
export function serverSans(a: Pick<ServerCertificateArgs, "address" | "dnsNames" | "ipAddresses">): {
  dnsNames: string[];
  ipAddresses: string[];
} {
  const all = [a.address, ...a.dnsNames, ...a.ipAddresses, "localhost", "127.0.0.1"];
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  return {
    dnsNames: uniq(all.filter((s) => net.isIP(s) === 0).map((s) => s.toLowerCase().replace(/\.$/, ""))),
    ipAddresses: uniq(all.filter((s) => net.isIP(s) !== 0)),
  };
}

/**
 * The SHA-256 fingerprint of `certPem`, the certificate `cert` was issued. A certificate Node cannot
 * read is a pulumi.ResourceError on `cert` with its stack hidden, so that the CLI shows the message
 * under the host's certificate instead of an "unhandled exception" with the stack of an apply callback.
 */
export function certificateSha256(certPem: string, cert: pulumi.Resource): string {
  try {
    return fingerprintSha256(certPem);
  } catch (e) {
    throw new pulumi.ResourceError(`the issued certificate cannot be read: ${(e as Error).message}`, cert, true);
  }
}

/** A host's server certificate: its own key, a CSR with its SANs, signed by the CA for server_auth only. */
export class ServerCertificate extends LeafCertificate {
  /** SHA-256 fingerprint of the certificate (hex, colon-separated), as clients see it. */
  readonly sha256: pulumi.Output<string>;

  constructor(name: string, args: ServerCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "dockertls:pki:ServerCertificate",
      name,
      () => ({
        ...certificateSettings(args),
        role: args.role,
        reissue: args.reissue,
        commonName: args.commonName,
        ...serverSans(args),
        issuer: args.ca,
        extendedUsage: "server_auth",
      }),
      opts,
    );
    this.sha256 = this.certPem.apply((pem) => certificateSha256(pem, this));
    this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, notAfter: this.notAfter, sha256: this.sha256 });
  }
}
