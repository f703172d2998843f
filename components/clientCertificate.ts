import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "./certificateAuthority";
import { CertificateSettings, LeafCertificate, certificateSettings } from "./keys";

/** Every value is explicit: the defaults are config.ts's (`pki.*`), applied once there. */
export interface ClientCertificateArgs extends CertificateSettings {
  /** The client's name: the CN of its certificate. */
  clientName: string;
  /** Validity of the client's issuer, in hours: `pki.caValidityHours` (`validityHours` is the certificate's). */
  issuerValidityHours: number;
  /** What the client is for people (`client ci`): the expiry warnings of its certificate and (`issuer of …`) its issuer say it. */
  role: string;
  /**
   * The command that reissues its certificate now (`npm run rotate -- --stack prod --client ci`),
   * for its expiry warnings. Its issuer's give `pulumi up --replace` of the issuer: rotate keeps it.
   */
  reissue?: string;
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
  /** Expiry of this client's issuer (RFC 3339). */
  readonly issuerNotAfter: pulumi.Output<string>;

  constructor(name: string, args: ClientCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    const settings = certificateSettings(args);
    let issuer: CertificateAuthority | undefined;
    super(
      "dockertls:pki:ClientCertificate",
      name,
      (parent) => {
        issuer = new CertificateAuthority(
          `${name}-issuer`,
          {
            ...settings,
            commonName: `docker-tls client issuer: ${args.clientName}`,
            role: `issuer of ${args.role}`,
            validityHours: args.issuerValidityHours,
          },
          { parent },
        );
        return { ...settings, role: args.role, reissue: args.reissue, commonName: args.clientName, issuer, extendedUsage: "client_auth" };
      },
      opts,
    );
    this.issuerCertPem = issuer!.certPem;
    this.clientName = args.clientName;
    this.issuerNotAfter = issuer!.notAfter;
    this.registerOutputs({
      certPem: this.certPem,
      privateKeyPem: this.privateKeyPem,
      issuerCertPem: this.issuerCertPem,
      notAfter: this.notAfter,
      issuerNotAfter: this.issuerNotAfter,
    });
  }
}
