import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "./certificateAuthority";
import { CertificateSettings, issueLeafCertificate } from "./keys";

/** Every value is explicit: the defaults are config.ts's (`pki.*`), applied once there. */
export interface ClientCertificateArgs extends CertificateSettings {
  /** The client's name: the CN of its certificate. */
  clientName: string;
  /** Validity of the client's issuer, in hours: `pki.caValidityHours` (`validityHours` is the certificate's). */
  issuerValidityHours: number;
}

/**
 * A named client identity, for `client_auth` only. dockerd has no CRL support, but trusts as an
 * issuer of clients every certificate in its `tlscacert` file. So each client gets its own small
 * issuing CA, and the daemons trust the bundle of the current clients' issuers: removing a
 * client removes its issuer from every host, and that client is refused while the others work.
 */
export class ClientCertificate extends pulumi.ComponentResource {
  readonly certPem: pulumi.Output<string>;
  /** The client's private key (PEM); a secret. */
  readonly privateKeyPem: pulumi.Output<string>;
  /** The certificate of this client's issuer, for the daemons' `tlscacert` bundle. */
  readonly issuerCertPem: pulumi.Output<string>;
  readonly notAfter: pulumi.Output<string>;

  constructor(name: string, args: ClientCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockertls:pki:ClientCertificate", name, {}, opts);
    const { algorithm, organization } = args;

    const issuer = new CertificateAuthority(
      `${name}-issuer`,
      {
        commonName: `docker-tls client issuer: ${args.clientName}`,
        organization,
        algorithm,
        validityHours: args.issuerValidityHours,
        renewBeforeHours: args.renewBeforeHours,
      },
      { parent: this },
    );
    const leaf = issueLeafCertificate(name, this, {
      algorithm,
      commonName: args.clientName,
      organization,
      issuer,
      extendedUsage: "client_auth",
      validityHours: args.validityHours,
      renewBeforeHours: args.renewBeforeHours,
    });

    this.certPem = leaf.certPem;
    this.privateKeyPem = leaf.privateKeyPem;
    this.issuerCertPem = issuer.certPem;
    this.notAfter = leaf.notAfter;
    this.registerOutputs({
      certPem: this.certPem,
      privateKeyPem: this.privateKeyPem,
      issuerCertPem: this.issuerCertPem,
      notAfter: this.notAfter,
    });
  }
}
