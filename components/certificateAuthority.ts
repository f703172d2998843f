import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { KeyAlgorithm } from "../config";
import { privateKeyArgs } from "./keys";

export interface CertificateAuthorityArgs {
  /** Common name (CN) of the CA certificate. */
  commonName: string;
  /** Subject organisation (O). Default `docker-tls`. */
  organization?: string;
  /** Key algorithm. Default `ECDSA-P256`. */
  algorithm?: KeyAlgorithm;
  /** Validity in hours. Default 87600 (10 years). */
  validityHours?: number;
  /** The next `pulumi up` reissues the CA this many hours before it expires. Default 720. */
  renewBeforeHours?: number;
}

/**
 * A self-signed CA: a private key and a certificate with `isCaCertificate`, usable only to sign
 * certificates and CRLs (strict clients, such as Python 3.13's ssl, reject a CA without those
 * key usages).
 */
export class CertificateAuthority extends pulumi.ComponentResource {
  /** The CA certificate (PEM). */
  readonly certPem: pulumi.Output<string>;
  /** The CA private key (PEM); a secret. */
  readonly privateKeyPem: pulumi.Output<string>;
  /** Expiry of the CA certificate (RFC 3339). */
  readonly notAfter: pulumi.Output<string>;

  constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:pki:CertificateAuthority", name, {}, opts);

    const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.algorithm ?? "ECDSA-P256"), { parent: this });
    const cert = new tls.SelfSignedCert(
      `${name}-cert`,
      {
        privateKeyPem: key.privateKeyPem,
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        subject: { commonName: args.commonName, organization: args.organization ?? "docker-tls" },
        validityPeriodHours: args.validityHours ?? 87600,
        earlyRenewalHours: args.renewBeforeHours ?? 720,
        setSubjectKeyId: true,
      },
      { parent: this },
    );

    this.certPem = cert.certPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.notAfter = cert.validityEndTime;
    this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, notAfter: this.notAfter });
  }
}
