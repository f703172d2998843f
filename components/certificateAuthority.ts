import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CertificateSettings, VALIDITY_AT_NEXT_ISSUE, privateKeyArgs, warnOfExpiry, warnOfOldValidity } from "./keys";

/** Every value is explicit: the defaults are config.ts's (`pki.*`), applied once there. */
export interface CertificateAuthorityArgs extends CertificateSettings {
  /** Common name (CN) of the CA certificate. */
  commonName: string;
  /**
   * What the CA is for people (`issuer of client ci`): its expiry warnings say it. Without one, its
   * expiry is not warned about (the previous CA during a CA rotation: it signs nothing served).
   */
  role?: string;
  /** What reissues it now (components/expiry.ts: caRenewal); without one, `pulumi up --replace` of it. */
  reissue?: string;
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

    const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.algorithm), { parent: this });
    const cert = new tls.SelfSignedCert(
      `${name}-cert`,
      {
        privateKeyPem: key.privateKeyPem,
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        subject: { commonName: args.commonName, organization: args.organization },
        validityPeriodHours: args.validityHours,
        earlyRenewalHours: args.renewBeforeHours,
        setSubjectKeyId: true,
      },
      { parent: this, ...VALIDITY_AT_NEXT_ISSUE },
    );

    this.certPem = cert.certPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.notAfter = cert.validityEndTime;
    if (args.role !== undefined) warnOfExpiry(this, name, { role: args.role, reissue: args.reissue }, cert, args);
    warnOfOldValidity(this, name, cert, args.validityHours, "pki.caValidityHours");
    this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, notAfter: this.notAfter });
  }
}
