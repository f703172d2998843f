/**
 * docker-tls: every Docker daemon of this stack listens on TCP with mutual TLS.
 *
 * The seed deck's 8-step recipe, as resources: a CA (1), per host a key, CSR and certificate
 * signed by the CA (2-4), per client a key and certificate (5-6), the daemon started with TLS
 * (7, over SSH), and a client that proves it works (8). Configuration: see Pulumi.yaml.
 * Per host, an audit that a refresh renews from the host itself (drift detection, `npm run drift`),
 * and its security checks (`security`, `npm run audit`).
 */
import * as pulumi from "@pulumi/pulumi";
import { AUDIT_TIMEOUT_SECONDS, CHECK_CLIENT, RESTART_SETTLE_SECONDS, RESTART_WAIT_SECONDS, loadStackConfig } from "./config";
import { CertificateAuthority } from "./components/certificateAuthority";
import { ClientCertificate } from "./components/clientCertificate";
import { DockerHost } from "./components/dockerHost";
import { EndpointCheck } from "./components/endpointCheck";
import { HostAudit } from "./components/hostAudit";
import { planHost } from "./host/plan";
import { ServerCertificate } from "./components/serverCertificate";
import { dockerEnvWarnings } from "./environment";
import { caRenewal, rotateCommand } from "./components/expiry";
import { latestValidFrom } from "./render/scripts";

// Validation comes first: a bad value stops the run here, before any resource exists. Its
// ConfigError is a pulumi.RunError, so the CLI shows every problem and no stack trace.
const config = loadStackConfig();
for (const w of [...config.warnings, ...dockerEnvWarnings(process.env)]) pulumi.log.warn(w);

const stack = pulumi.getStack();
const pki = config.pki;
const sshPrivateKey = config.sshKey.fromSecret
  ? new pulumi.Config("docker-tls").requireSecret("sshPrivateKey")
  : pulumi.secret(config.sshKey.content);

// The CA of generation `pki.caGeneration` issues the server certificates. Generation 1 keeps the
// name `ca` it had before rotations existed; a rotation adds `ca-g2`, `ca-g3`… During phase 1
// (`pki.trustPreviousCa`) the previous generation stays, and the clients' ca.pem holds both.
// Each certificate component warns, in preview and up, when its certificate expires within
// pki.warnBeforeHours (components/keys.ts: warnOfExpiry), naming it with its role and giving what
// renews it now (npm run rotate; a client's issuer, which rotate keeps: --replace). The previous CA
// of a rotation's phase 1 is not watched: it signs nothing the daemons serve any more.
const caOf = (generation: number) =>
  new CertificateAuthority(generation === 1 ? "ca" : `ca-g${generation}`, {
    commonName: `docker-tls CA (${pulumi.getProject()}/${stack})${generation === 1 ? "" : ` g${generation}`}`,
    ...(generation === pki.caGeneration
      ? { role: "the CA that signs every server certificate, the clients' ca.pem", reissue: caRenewal(stack, generation) }
      : {}),
    organization: pki.organization,
    algorithm: pki.algorithm,
    validityHours: pki.caValidityHours,
    renewBeforeHours: pki.renewBeforeHours,
    warnBeforeHours: pki.warnBeforeHours,
  });
const ca = caOf(pki.caGeneration);
const previousCa = pki.trustPreviousCa ? caOf(pki.caGeneration - 1) : undefined;

const clientCert = (name: string, role: string) =>
  new ClientCertificate(`client-${name}`, {
    clientName: name,
    role,
    reissue: rotateCommand(stack, { client: name }),
    organization: pki.organization,
    algorithm: pki.algorithm,
    issuerValidityHours: pki.caValidityHours,
    validityHours: pki.leafValidityHours,
    renewBeforeHours: pki.renewBeforeHours,
    warnBeforeHours: pki.warnBeforeHours,
  });
const clients = Object.fromEntries(config.clients.map((c) => [c.name, clientCert(c.name, `client ${c.name}`)]));
const checker = clientCert(CHECK_CLIENT, "the program's own client for the endpoint checks");

// Each daemon trusts exactly the issuers of the current clients (and of the checker).
const clientCaBundle = pulumi
  .all([checker, ...Object.values(clients)].map((c) => c.issuerCertPem))
  .apply((pems) => pems.map((p) => p.trim() + "\n").join(""));

// The youngest client certificate (the checker's included): a host whose clock is behind when it
// became valid would refuse it, and DockerHost's upload step says so before changing anything.
const clientsValidFrom = pulumi
  .all([checker, ...Object.values(clients)].map((c) => pulumi.all([c.notBefore, c.clientName])))
  .apply((issued) => latestValidFrom(issued.map(([notBefore, name]) => ({ notBefore, what: `client certificate ${name}` }))));

const hosts = config.hosts.map((h) => {
  const server = new ServerCertificate(`server-${h.name}`, {
    ca,
    commonName: h.name,
    role: `server of host ${h.name}`,
    reissue: rotateCommand(stack, { host: h.name }),
    address: h.address,
    dnsNames: h.dnsNames,
    ipAddresses: h.ipAddresses,
    organization: pki.organization,
    algorithm: pki.algorithm,
    validityHours: pki.leafValidityHours,
    renewBeforeHours: pki.renewBeforeHours,
    warnBeforeHours: pki.warnBeforeHours,
  });
  const plan = planHost(h, {
    project: pulumi.getProject(),
    stack,
    waitSeconds: RESTART_WAIT_SECONDS,
    settleSeconds: RESTART_SETTLE_SECONDS,
  });
  const host = new DockerHost(`host-${h.name}`, {
    host: h,
    plan,
    sshPrivateKey,
    serverCertPem: server.certPem,
    serverKeyPem: server.privateKeyPem,
    clientCaBundle,
    clientsValidFrom,
  });
  // Drift detection: a refresh inspects the host; `up --refresh` heals it (components/hostAudit.ts).
  const audit = new HostAudit(
    `audit-${h.name}`,
    {
      plan,
      sshPrivateKey,
      files: host.files,
      manifest: host.manifest,
      applyCommand: host.applyCommand,
      uploadCommand: host.uploadCommand,
      uploadPayload: host.uploadPayload,
      serverCertSha256: server.sha256,
      timeoutSeconds: AUDIT_TIMEOUT_SECONDS,
    },
    { dependsOn: [host.applied] },
  );
  const check = new EndpointCheck(
    `check-${h.name}`,
    {
      dockerHost: host.dockerHost,
      caCertPem: ca.certPem,
      clientCertPem: checker.certPem,
      clientKeyPem: checker.privateKeyPem,
      revision: host.manifest,
      healed: audit.observed,
    },
    // After the audit: when it heals a drifted host, the endpoint is checked on the healed daemon.
    { dependsOn: [host.applied, audit] },
  );
  return { name: h.name, server, host, audit, check };
});

/** The CA clients trust, as `ca.pem`: during a CA rotation's phase 1, the new CA and the previous one. */
export const caCertPem = previousCa
  ? pulumi.all([ca.certPem, previousCa.certPem]).apply((pems) => pems.map((p) => p.trim() + "\n").join(""))
  : ca.certPem;

/** Where the stack is in a CA rotation (README, "CA rotation"). */
export const caRotation = {
  generation: pki.caGeneration,
  phase: previousCa
    ? `1: generations ${pki.caGeneration} and ${pki.caGeneration - 1} trusted; once every client has the new ca.pem, set pki.trustPreviousCa to false`
    : pki.caGeneration === 1
      ? "none: the stack's first CA"
      : `2: generation ${pki.caGeneration} only`,
};

/** The expiry (RFC 3339) of the CA that signs the server certificates (the current generation's). */
export const caNotAfter = ca.notAfter;

/** Per client: `cert.pem`, `key.pem` (secret), its expiry and its issuer's (the daemons trust the issuer until then). */
export const clientCertificates = Object.fromEntries(
  Object.entries(clients).map(([name, c]) => [
    name,
    { certPem: c.certPem, keyPem: c.privateKeyPem, notAfter: c.notAfter, issuerNotAfter: c.issuerNotAfter },
  ]),
);

/**
 * Per host: the security audit of its last observation (components/security/checks.ts): counts of
 * pass, warn, fail and unknown, the failing checks, and every check. `npm run audit -- --json`
 * prints the same structure from a refresh.
 */
export const security = Object.fromEntries(hosts.map((h) => [h.name, h.audit.security]));

/** Per host: DOCKER_HOST, the server certificate's fingerprint and expiry, and the daemon's version. */
export const dockerHosts = Object.fromEntries(
  hosts.map((h) => [
    h.name,
    {
      dockerHost: h.host.dockerHost,
      serverCertSha256: h.server.sha256,
      serverCertNotAfter: h.server.notAfter,
      dockerVersion: h.check.dockerVersion,
    },
  ]),
);
