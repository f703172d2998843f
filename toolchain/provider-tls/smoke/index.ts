// Smoke-test program for pulumi-resource-tls (run by run.sh): a CA, a server and a client
// certificate for mutual TLS, plus getPublicKey. Config: early (CA earlyRenewalHours), extraDns
// (one more server SAN), dueCert (adds a certificate that is always due for renewal).
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
const cfg = new pulumi.Config();

const caKey = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const ca = new tls.SelfSignedCert("ca", {
    privateKeyPem: caKey.privateKeyPem,
    isCaCertificate: true,
    allowedUses: ["cert_signing", "crl_signing"],
    validityPeriodHours: 87600,
    earlyRenewalHours: cfg.getNumber("early") ?? 720,
    setSubjectKeyId: true,
    subject: { commonName: "e2e CA", organization: "docker-tls" },
});
const serverKey = new tls.PrivateKey("server-key", { algorithm: "RSA", rsaBits: 2048 });
const csr = new tls.CertRequest("server-csr", {
    privateKeyPem: serverKey.privateKeyPem,
    subject: { commonName: "docker.example.com" },
    dnsNames: ["docker.example.com", "localhost", ...(cfg.get("extraDns") ? [cfg.get("extraDns")!] : [])],
    ipAddresses: ["127.0.0.1"],
});
const server = new tls.LocallySignedCert("server", {
    certRequestPem: csr.certRequestPem,
    caCertPem: ca.certPem,
    caPrivateKeyPem: caKey.privateKeyPem,
    validityPeriodHours: 8760,
    allowedUses: ["key_encipherment", "digital_signature", "server_auth"],
});
const clientKey = new tls.PrivateKey("client-key", { algorithm: "ED25519" });
const clientCsr = new tls.CertRequest("client-csr", { privateKeyPem: clientKey.privateKeyPem, subject: { commonName: "client" } });
const client = new tls.LocallySignedCert("client", {
    certRequestPem: clientCsr.certRequestPem,
    caCertPem: ca.certPem,
    caPrivateKeyPem: caKey.privateKeyPem,
    validityPeriodHours: 8760,
    allowedUses: ["digital_signature", "client_auth"],
});
const pub = tls.getPublicKeyOutput({ privateKeyPem: serverKey.privateKeyPem });

export const caCert = ca.certPem;
export const serverCert = server.certPem;
export const clientCert = client.certPem;
export const serverKeyPem = serverKey.privateKeyPem;
export const serverFingerprint = serverKey.publicKeyFingerprintSha256;
export const invokedFingerprint = pub.publicKeyFingerprintSha256;
export const readyForRenewal = server.readyForRenewal;
export const validityEndTime = server.validityEndTime;

if (cfg.getBoolean("dueCert")) {
    new tls.SelfSignedCert("due", { privateKeyPem: caKey.privateKeyPem, allowedUses: ["server_auth"], validityPeriodHours: 1, earlyRenewalHours: 1 });
}
