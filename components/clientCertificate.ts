import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "./certificateAuthority";
import { CertificateSettings, LeafCertificate, certificateSettings } from "./keys";

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
export class ClientCertificate extends LeafCertificate {
  /** The certificate of this client's issuer, for the daemons' `tlscacert` bundle. */
  readonly issuerCertPem: pulumi.Output<string>;
  /** The client's name: its certificate's CN. */
  readonly clientName: string;

  constructor(name: string, args: ClientCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    const settings = certificateSettings(args);
    let issuer: CertificateAuthority | undefined;
    super(
      "dockertls:pki:ClientCertificate",
      name,
      (parent) => {
        issuer = new CertificateAuthority(
          `${name}-issuer`,
          { ...settings, commonName: `docker-tls client issuer: ${args.clientName}`, validityHours: args.issuerValidityHours },
          { parent },
        );
        return { ...settings, commonName: args.clientName, issuer, extendedUsage: "client_auth" };
      },
      opts,
    );
    this.issuerCertPem = issuer!.certPem;
    this.clientName = args.clientName;
    this.registerOutputs({
      certPem: this.certPem,
      privateKeyPem: this.privateKeyPem,
      issuerCertPem: this.issuerCertPem,
      notAfter: this.notAfter,
    });
  }
}
