/** Shared by the certificate components: key arguments, key usages, and issuing a leaf certificate. */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { KeyAlgorithm } from "../config";
import { expiryWarnings } from "./expiry";

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

/** What every certificate of the PKI takes from `pki.*` (config.ts applies the defaults once). */
export interface CertificateSettings {
  /** Subject organisation (O): `pki.organization`. */
  organization: string;
  /** Key algorithm: `pki.algorithm`. */
  algorithm: KeyAlgorithm;
  /** Validity in hours: `pki.caValidityHours` for CAs, `pki.leafValidityHours` for leaves. */
  validityHours: number;
  /** The next `pulumi up` reissues the certificate this many hours before it expires: `pki.renewBeforeHours`. */
  renewBeforeHours: number;
  /** Preview and up warn about the certificate this many hours before it expires: `pki.warnBeforeHours`. */
  warnBeforeHours: number;
}

/** The CertificateSettings of `args` alone, for passing on without the component's other arguments. */
export function certificateSettings(args: CertificateSettings): CertificateSettings {
  const { organization, algorithm, validityHours, renewBeforeHours, warnBeforeHours } = args;
  return { organization, algorithm, validityHours, renewBeforeHours, warnBeforeHours };
}

/**
 * Logs a warning on `component` (named `name`; the CLI shows the warning under it) when its
 * certificate, the tls resource `cert`, expires within `pki.warnBeforeHours` of this run
 * (components/expiry.ts says how). In a preview, notAfter is unknown for a certificate that the run
 * issues (a new one, or one it reissues): the apply does not run, and nothing is said of it.
 */
export function warnOfExpiry(
  component: pulumi.Resource,
  name: string,
  who: Pick<LeafCertificateArgs, "role" | "reissue">,
  cert: { urn: pulumi.Output<string>; validityEndTime: pulumi.Output<string> },
  s: Pick<CertificateSettings, "warnBeforeHours" | "renewBeforeHours">,
): void {
  pulumi.all([cert.validityEndTime, cert.urn]).apply(([notAfter, urn]) => {
    const c = { name, what: who.role, notAfter, urn, reissue: who.reissue };
    for (const w of expiryWarnings([c], new Date(), s.warnBeforeHours, s.renewBeforeHours)) {
      pulumi.log.warn(w, component);
    }
  });
}

/**
 * The resource options of every tls certificate: a change of `pki.leafValidityHours` or
 * `pki.caValidityHours` applies to each certificate when it is next issued (its renewal, or
 * `npm run rotate`), rather than reissuing every certificate at once, which would restart every
 * daemon of the stack in one run and, for a CA, break every client's ca.pem. The tls provider uses
 * the new validity when it replaces a certificate (renewal, `--replace`); warnOfOldValidity says
 * which certificates still have the old one.
 */
export const VALIDITY_AT_NEXT_ISSUE = { ignoreChanges: ["validityPeriodHours"] };

/**
 * Logs a warning on `component` when its certificate `cert` was issued for another validity than
 * the configured one (`setting`, e.g. `pki.leafValidityHours`): that certificate keeps its own until
 * it is next issued (VALIDITY_AT_NEXT_ISSUE).
 */
export function warnOfOldValidity(
  component: pulumi.Resource,
  name: string,
  cert: { validityPeriodHours: pulumi.Output<number> },
  configured: number,
  setting: string,
): void {
  cert.validityPeriodHours.apply((issued) => {
    if (issued === undefined || issued === configured) return;
    pulumi.log.warn(
      `certificate ${name} was issued for ${issued} hours; ${setting} (${configured}) applies when it is next issued ` +
        "(its renewal, or npm run rotate), not to this certificate",
      component,
    );
  });
}

export interface LeafCertificateArgs extends CertificateSettings {
  /** What the certificate is for people (`server of host web1`): its expiry warnings say it. */
  role: string;
  /**
   * The command that reissues it now, which its expiry warnings give (`npm run rotate -- --stack prod
   * --host web1`: components/expiry.ts, rotateCommand); without one, `pulumi up --replace` of it.
   */
  reissue?: string;
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** The issuer's certificate and key. */
  issuer: { certPem: pulumi.Input<string>; privateKeyPem: pulumi.Input<string> };
  /** The one extended key usage: a server certificate is never a client's, and the reverse. */
  extendedUsage: "server_auth" | "client_auth";
}

/**
 * A leaf certificate with its own key: `${name}-key`, `${name}-csr` and `${name}-cert`, children of
 * `parent`. The CSR carries the subject and SANs; the issuer signs it for one purpose only.
 */
export function issueLeafCertificate(name: string, parent: pulumi.Resource, a: LeafCertificateArgs) {
  const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(a.algorithm), { parent });
  const csr = new tls.CertRequest(
    `${name}-csr`,
    {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: a.commonName, organization: a.organization },
      dnsNames: a.dnsNames,
      ipAddresses: a.ipAddresses,
    },
    { parent },
  );
  const cert = new tls.LocallySignedCert(
    `${name}-cert`,
    {
      certRequestPem: csr.certRequestPem,
      caCertPem: a.issuer.certPem,
      caPrivateKeyPem: a.issuer.privateKeyPem,
      allowedUses: [...leafKeyUsages(a.algorithm), a.extendedUsage],
      validityPeriodHours: a.validityHours,
      earlyRenewalHours: a.renewBeforeHours,
      setSubjectKeyId: true,
    },
    { parent, ...VALIDITY_AT_NEXT_ISSUE },
  );
  return {
    cert,
    certPem: cert.certPem,
    privateKeyPem: pulumi.secret(key.privateKeyPem),
    notBefore: cert.validityStartTime,
    notAfter: cert.validityEndTime,
  };
}

/**
 * What ServerCertificate and ClientCertificate share: a component that issues one leaf certificate
 * with its own key (issueLeafCertificate) as its children. `leaf` gets the component, as the
 * parent of anything else it creates first (a client's issuer), and says what to issue.
 */
export abstract class LeafCertificate extends pulumi.ComponentResource {
  /** The certificate (PEM). */
  readonly certPem: pulumi.Output<string>;
  /** Its private key (PEM); a secret. */
  readonly privateKeyPem: pulumi.Output<string>;
  /** Its expiry (RFC 3339). */
  readonly notAfter: pulumi.Output<string>;
  /** When it became valid (RFC 3339): a host whose clock is behind it refuses it. */
  readonly notBefore: pulumi.Output<string>;

  protected constructor(
    type: string,
    name: string,
    leaf: (parent: pulumi.Resource) => LeafCertificateArgs,
    opts: pulumi.ComponentResourceOptions | undefined,
  ) {
    super(type, name, {}, opts);
    const args = leaf(this);
    const issued = issueLeafCertificate(name, this, args);
    this.certPem = issued.certPem;
    this.privateKeyPem = issued.privateKeyPem;
    this.notAfter = issued.notAfter;
    this.notBefore = issued.notBefore;
    warnOfExpiry(this, name, args, issued.cert, args);
    warnOfOldValidity(this, name, issued.cert, args.validityHours, "pki.leafValidityHours");
  }
}
