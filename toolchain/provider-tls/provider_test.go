package main

// Tests drive the gRPC server methods with marshalled structs, as the engine does, and check the
// results with crypto/x509 and x/crypto/ssh.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	tPrivateKey     = "tls:index/privateKey:PrivateKey"
	tSelfSignedCert = "tls:index/selfSignedCert:SelfSignedCert"
	tCertRequest    = "tls:index/certRequest:CertRequest"
	tLocallySigned  = "tls:index/locallySignedCert:LocallySignedCert"
)

var ctx = context.Background()

func urn(typ, name string) string {
	return "urn:pulumi:test::docker-tls::" + typ + "::" + name
}

func toWire(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal(m, "test")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return s
}

func fromWire(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshal(s, "test")
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return m
}

func str(s string) resource.PropertyValue  { return resource.NewStringProperty(s) }
func num(n float64) resource.PropertyValue { return resource.NewNumberProperty(n) }
func boolean(b bool) resource.PropertyValue {
	return resource.NewBoolProperty(b)
}
func secret(v resource.PropertyValue) resource.PropertyValue { return resource.MakeSecret(v) }
func list(items ...string) resource.PropertyValue {
	var out []resource.PropertyValue
	for _, s := range items {
		out = append(out, str(s))
	}
	return resource.NewArrayProperty(out)
}

// check runs Check (URN only, like older engines) and returns the checked inputs and failures.
func check(t *testing.T, p *tlsProvider, typ string, news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	resp, err := p.Check(ctx, &pulumirpc.CheckRequest{Urn: urn(typ, "r"), News: toWire(t, news)})
	if err != nil {
		t.Fatalf("Check(%s): %v", typ, err)
	}
	return fromWire(t, resp.GetInputs()), resp.GetFailures()
}

// create runs Check then Create and returns the ID and outputs.
func create(t *testing.T, p *tlsProvider, typ string, news resource.PropertyMap) (string, resource.PropertyMap) {
	t.Helper()
	inputs, failures := check(t, p, typ, news)
	if len(failures) > 0 {
		t.Fatalf("Check(%s) failed: %v", typ, failures)
	}
	resp, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(typ, "r"), Type: typ, Properties: toWire(t, inputs)})
	if err != nil {
		t.Fatalf("Create(%s): %v", typ, err)
	}
	if resp.GetId() == "" {
		t.Fatalf("Create(%s) returned no ID", typ)
	}
	return resp.GetId(), fromWire(t, resp.GetProperties())
}

func outStr(t *testing.T, m resource.PropertyMap, key string) string {
	t.Helper()
	v, ok := props(m).get(key)
	if !ok || !unwrap(v).IsString() {
		t.Fatalf("output %s missing or not a string: %v", key, v)
	}
	return unwrap(v).StringValue()
}

func mustSecret(t *testing.T, m resource.PropertyMap, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v := m[resource.PropertyKey(k)]; !v.IsSecret() {
			t.Errorf("output %s is not a secret", k)
		}
	}
}

func mustPlain(t *testing.T, m resource.PropertyMap, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v := m[resource.PropertyKey(k)]; v.IsSecret() {
			t.Errorf("output %s is unexpectedly a secret", k)
		}
	}
}

func parseCert(t *testing.T, data string) *x509.Certificate {
	t.Helper()
	cert, err := parseCertificatePEM(data)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

func failureFor(failures []*pulumirpc.CheckFailure, property string) *pulumirpc.CheckFailure {
	for _, f := range failures {
		if f.GetProperty() == property {
			return f
		}
	}
	return nil
}

func TestPluginInfoAndConfigure(t *testing.T) {
	p := newProvider("5.6.1")
	info, err := p.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil || info.GetVersion() != "5.6.1" {
		t.Fatalf("GetPluginInfo = %v, %v", info, err)
	}
	conf, err := p.Configure(ctx, &pulumirpc.ConfigureRequest{AcceptSecrets: true})
	if err != nil || !conf.GetAcceptSecrets() || !conf.GetSupportsPreview() {
		t.Fatalf("Configure = %v, %v", conf, err)
	}
	hs, err := p.Handshake(ctx, &pulumirpc.ProviderHandshakeRequest{})
	if err != nil || !hs.GetAcceptSecrets() {
		t.Fatalf("Handshake = %v, %v", hs, err)
	}
}

func TestPrivateKeyFormats(t *testing.T) {
	p := newProvider("test")
	cases := []struct {
		name     string
		in       resource.PropertyMap
		pemType  string
		hasSSH   bool
		checkKey func(any) bool
	}{
		{"rsa-default-2048", resource.PropertyMap{"algorithm": str("RSA")}, "RSA PRIVATE KEY", true,
			func(k any) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
		{"ecdsa-p256", resource.PropertyMap{"algorithm": str("ECDSA"), "ecdsaCurve": str("P256")}, "EC PRIVATE KEY", true,
			func(k any) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve == elliptic.P256() }},
		{"ecdsa-default-p224", resource.PropertyMap{"algorithm": str("ECDSA")}, "EC PRIVATE KEY", false,
			func(k any) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve == elliptic.P224() }},
		{"ed25519", resource.PropertyMap{"algorithm": str("ED25519")}, "PRIVATE KEY", true,
			func(k any) bool { _, ok := k.(ed25519.PrivateKey); return ok }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, outs := create(t, p, tPrivateKey, tc.in)
			mustSecret(t, outs, "privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh")
			mustPlain(t, outs, "publicKeyPem", "publicKeyOpenssh", "algorithm")
			if props(outs).integer("rsaBits") != 2048 && tc.in["rsaBits"].IsNull() {
				t.Errorf("rsaBits default not applied: %v", outs["rsaBits"])
			}

			block, _ := pem.Decode([]byte(outStr(t, outs, "privateKeyPem")))
			if block == nil || block.Type != tc.pemType {
				t.Fatalf("privateKeyPem block = %v, want %s", block, tc.pemType)
			}
			key, err := parsePrivateKeyPEM(outStr(t, outs, "privateKeyPem"))
			if err != nil || !tc.checkKey(key) {
				t.Fatalf("privateKeyPem parses to %T (%v)", key, err)
			}
			block, _ = pem.Decode([]byte(outStr(t, outs, "privateKeyPemPkcs8")))
			pkcs8, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil || !samePublicKey(pkcs8.(crypto.Signer).Public(), key.Public()) {
				t.Fatalf("privateKeyPemPkcs8 does not hold the same key: %v", err)
			}

			pubPEM := outStr(t, outs, "publicKeyPem")
			block, _ = pem.Decode([]byte(pubPEM))
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil || !samePublicKey(pub, key.Public()) {
				t.Fatalf("publicKeyPem mismatch: %v", err)
			}
			if id != stateID(pubPEM) {
				t.Errorf("id = %s, want SHA-1 of the public key PEM", id)
			}

			if !tc.hasSSH {
				for _, k := range []string{"privateKeyOpenssh", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"} {
					if s := outStr(t, outs, k); s != "" {
						t.Errorf("%s = %q, want empty for P224", k, s)
					}
				}
				return
			}
			sshKey, err := ssh.ParseRawPrivateKey([]byte(outStr(t, outs, "privateKeyOpenssh")))
			if err != nil {
				t.Fatalf("privateKeyOpenssh: %v", err)
			}
			if signer, err := asSigner(sshKey); err != nil || !samePublicKey(signer.Public(), key.Public()) {
				t.Fatalf("privateKeyOpenssh holds another key: %v", err)
			}
			authorized, _, _, _, err := ssh.ParseAuthorizedKey([]byte(outStr(t, outs, "publicKeyOpenssh")))
			if err != nil {
				t.Fatalf("publicKeyOpenssh: %v", err)
			}
			if !strings.HasSuffix(outStr(t, outs, "publicKeyOpenssh"), "\n") {
				t.Errorf("publicKeyOpenssh should end with a newline, as documented")
			}
			if got, want := outStr(t, outs, "publicKeyFingerprintSha256"), ssh.FingerprintSHA256(authorized); got != want || !strings.HasPrefix(got, "SHA256:") {
				t.Errorf("publicKeyFingerprintSha256 = %q, want %q", got, want)
			}
			if got := outStr(t, outs, "publicKeyFingerprintMd5"); strings.Count(got, ":") != 15 {
				t.Errorf("publicKeyFingerprintMd5 = %q", got)
			}
		})
	}
}

func TestCheckValidation(t *testing.T) {
	p := newProvider("test")

	in, failures := check(t, p, tPrivateKey, resource.PropertyMap{"algorithm": str("ECDSA")})
	if len(failures) != 0 || props(in).integer("rsaBits") != 2048 || props(in).str("ecdsaCurve") != "P224" {
		t.Fatalf("defaults: %v %v", in, failures)
	}
	_, failures = check(t, p, tPrivateKey, resource.PropertyMap{"algorithm": str("DSA"), "ecdsaCurve": str("P999")})
	if failureFor(failures, "algorithm") == nil || failureFor(failures, "ecdsaCurve") == nil {
		t.Fatalf("bad algorithm/curve not reported per property: %v", failures)
	}
	_, failures = check(t, p, tPrivateKey, resource.PropertyMap{})
	if f := failureFor(failures, "algorithm"); f == nil || !strings.Contains(f.GetReason(), "Missing required") {
		t.Fatalf("missing algorithm: %v", failures)
	}
	_, failures = check(t, p, tPrivateKey, resource.PropertyMap{"algorithm": str("RSA"), "rsaBits": num(512), "colour": str("x")})
	if failureFor(failures, "rsaBits") == nil || failureFor(failures, "colour") == nil {
		t.Fatalf("small rsaBits / unknown property: %v", failures)
	}

	key := generateKey(t, p, "ECDSA")
	_, failures = check(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem":       secret(str("not a key")),
		"allowedUses":         list("cert_signing", "certSigning"),
		"ipAddresses":         list("10.0.0.300"),
		"validityPeriodHours": num(-1),
		"subject":             resource.NewObjectProperty(resource.PropertyMap{"commonName": num(3)}),
	})
	for _, prop := range []string{"privateKeyPem", "allowedUses[1]", "ipAddresses[0]", "validityPeriodHours", "subject.commonName"} {
		f := failureFor(failures, prop)
		if f == nil {
			t.Errorf("no failure for %s: %v", prop, failures)
		} else if strings.Contains(f.GetReason(), "not a key") {
			t.Errorf("failure for %s quotes the key: %s", prop, f.GetReason())
		}
	}
	_, failures = check(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem": key, "allowedUses": list("server_auth"), "validityPeriodHours": num(1),
		"privateKeyPemWo": secret(str("x")),
	})
	if failureFor(failures, "privateKeyPemWo") == nil {
		t.Errorf("privateKeyPemWo should be refused: %v", failures)
	}

	// Defaults of a certificate.
	in, failures = check(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem": key, "allowedUses": list("server_auth"), "validityPeriodHours": num(1),
	})
	if len(failures) != 0 {
		t.Fatalf("valid cert inputs failed: %v", failures)
	}
	for k, want := range map[string]resource.PropertyValue{
		"earlyRenewalHours": num(0), "isCaCertificate": boolean(false), "maxPathLength": num(0),
		"setSubjectKeyId": boolean(false), "setAuthorityKeyId": boolean(false),
	} {
		if !in[resource.PropertyKey(k)].DeepEquals(want) {
			t.Errorf("default %s = %v, want %v", k, in[resource.PropertyKey(k)], want)
		}
	}
	if !in["privateKeyPem"].IsSecret() {
		t.Errorf("Check dropped the secretness of privateKeyPem")
	}

	// Unknowns (previews) are not validated, and stay unknown.
	in, failures = check(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem": unknown(), "allowedUses": list("server_auth"), "validityPeriodHours": num(1),
		"dnsNames": resource.NewArrayProperty([]resource.PropertyValue{unknown()}),
	})
	if len(failures) != 0 || !in["privateKeyPem"].IsComputed() {
		t.Fatalf("unknown inputs: %v %v", in, failures)
	}
}

// generateKey creates a PrivateKey and returns its privateKeyPem output (a secret).
func generateKey(t *testing.T, p *tlsProvider, alg string) resource.PropertyValue {
	t.Helper()
	in := resource.PropertyMap{"algorithm": str(alg)}
	if alg == "ECDSA" {
		in["ecdsaCurve"] = str("P256")
	}
	_, outs := create(t, p, tPrivateKey, in)
	return outs["privateKeyPem"]
}

func TestCertificateChain(t *testing.T) {
	p := newProvider("test")

	// CA: ECDSA P256, self-signed, certificate and CRL signing only.
	caKey := generateKey(t, p, "ECDSA")
	caID, ca := create(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem":       caKey,
		"isCaCertificate":     boolean(true),
		"allowedUses":         list("cert_signing", "crl_signing"),
		"validityPeriodHours": num(87600),
		"earlyRenewalHours":   num(720),
		"setSubjectKeyId":     boolean(true),
		"setAuthorityKeyId":   boolean(true),
		"subject": resource.NewObjectProperty(resource.PropertyMap{
			"commonName": str("docker-tls CA"), "organization": str("docker-tls"),
			"emailAddress": str("ops@example.com"), "streetAddresses": list("1 Main St"),
		}),
	})
	mustSecret(t, ca, "privateKeyPem")
	mustPlain(t, ca, "certPem", "keyAlgorithm", "validityEndTime")
	caCert := parseCert(t, outStr(t, ca, "certPem"))
	if !caCert.BasicConstraintsValid || !caCert.IsCA {
		t.Errorf("CA basic constraints: valid=%v isCA=%v", caCert.BasicConstraintsValid, caCert.IsCA)
	}
	if caCert.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || len(caCert.ExtKeyUsage) != 0 {
		t.Errorf("CA usages: %v %v", caCert.KeyUsage, caCert.ExtKeyUsage)
	}
	if len(caCert.SubjectKeyId) == 0 || string(caCert.AuthorityKeyId) != string(caCert.SubjectKeyId) {
		t.Errorf("CA key ids: ski=%x aki=%x", caCert.SubjectKeyId, caCert.AuthorityKeyId)
	}
	if want, _ := subjectKeyID(caCert.PublicKey); string(want) != string(caCert.SubjectKeyId) {
		t.Errorf("CA subject key id is not the RFC 5280 method-1 hash")
	}
	if caCert.Subject.CommonName != "docker-tls CA" || caCert.Subject.Organization[0] != "docker-tls" ||
		caCert.Subject.StreetAddress[0] != "1 Main St" {
		t.Errorf("CA subject: %v", caCert.Subject)
	}
	// emailAddress must be encoded as an IA5String (tag 22), not a UTF8String.
	if !strings.Contains(string(caCert.RawSubject), "\x16\x0fops@example.com") {
		t.Errorf("subject emailAddress not an IA5String: %x", caCert.RawSubject)
	}
	if caID != caCert.SerialNumber.String() || caCert.SerialNumber.BitLen() < 64 {
		t.Errorf("id %s / serial %v", caID, caCert.SerialNumber)
	}
	if outStr(t, ca, "keyAlgorithm") != "ECDSA" {
		t.Errorf("keyAlgorithm = %s", outStr(t, ca, "keyAlgorithm"))
	}
	if got := outStr(t, ca, "validityEndTime"); got != caCert.NotAfter.UTC().Format(time.RFC3339) {
		t.Errorf("validityEndTime %s vs NotAfter %v", got, caCert.NotAfter)
	}
	if got := outStr(t, ca, "validityStartTime"); got != caCert.NotBefore.UTC().Format(time.RFC3339) {
		t.Errorf("validityStartTime %s vs NotBefore %v", got, caCert.NotBefore)
	}
	if caCert.NotAfter.Sub(caCert.NotBefore) != 87600*time.Hour {
		t.Errorf("validity = %v", caCert.NotAfter.Sub(caCert.NotBefore))
	}
	if props(ca).boolean("readyForRenewal") {
		t.Errorf("fresh CA is ready for renewal")
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)

	// Server: RSA 2048 key, request with DNS and IP SANs, signed for server_auth only.
	serverKey := generateKey(t, p, "RSA")
	_, csr := create(t, p, tCertRequest, resource.PropertyMap{
		"privateKeyPem": serverKey,
		"subject":       resource.NewObjectProperty(resource.PropertyMap{"commonName": str("docker.example.com")}),
		"dnsNames":      list("docker.example.com", "localhost"),
		"ipAddresses":   list("10.0.0.5", "127.0.0.1", "::1"),
	})
	mustSecret(t, csr, "privateKeyPem")
	if outStr(t, csr, "keyAlgorithm") != "RSA" {
		t.Errorf("csr keyAlgorithm = %s", outStr(t, csr, "keyAlgorithm"))
	}
	_, server := create(t, p, tLocallySigned, resource.PropertyMap{
		"certRequestPem":      csr["certRequestPem"],
		"caCertPem":           ca["certPem"],
		"caPrivateKeyPem":     caKey,
		"allowedUses":         list("digital_signature", "key_encipherment", "server_auth"),
		"validityPeriodHours": num(8760),
		"setSubjectKeyId":     boolean(true),
	})
	mustSecret(t, server, "caPrivateKeyPem")
	if outStr(t, server, "caKeyAlgorithm") != "ECDSA" {
		t.Errorf("caKeyAlgorithm = %s", outStr(t, server, "caKeyAlgorithm"))
	}
	serverCert := parseCert(t, outStr(t, server, "certPem"))
	if !slices.Equal(serverCert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
		serverCert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("server usages: %v %v", serverCert.KeyUsage, serverCert.ExtKeyUsage)
	}
	if serverCert.IsCA || !serverCert.BasicConstraintsValid {
		t.Errorf("server must be CA:FALSE")
	}
	if string(serverCert.AuthorityKeyId) != string(caCert.SubjectKeyId) || len(serverCert.SubjectKeyId) == 0 {
		t.Errorf("server key ids: aki=%x ski=%x", serverCert.AuthorityKeyId, serverCert.SubjectKeyId)
	}
	if serverCert.Subject.CommonName != "docker.example.com" || len(serverCert.IPAddresses) != 3 ||
		!serverCert.IPAddresses[0].Equal(net.ParseIP("10.0.0.5")) {
		t.Errorf("server names: %v %v %v", serverCert.Subject, serverCert.DNSNames, serverCert.IPAddresses)
	}
	for _, host := range []string{"docker.example.com", "localhost", "10.0.0.5", "127.0.0.1", "::1"} {
		if _, err := serverCert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server cert does not verify for %s: %v", host, err)
		}
	}
	if _, err := serverCert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Errorf("server cert must not verify for client auth")
	}
	if _, err := serverCert.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots}); err == nil {
		t.Errorf("server cert verified for a name it does not carry")
	}

	// Client: ECDSA key, client_auth only.
	clientKey := generateKey(t, p, "ECDSA")
	_, ccsr := create(t, p, tCertRequest, resource.PropertyMap{
		"privateKeyPem": clientKey,
		"subject":       resource.NewObjectProperty(resource.PropertyMap{"commonName": str("client")}),
	})
	_, client := create(t, p, tLocallySigned, resource.PropertyMap{
		"certRequestPem": ccsr["certRequestPem"], "caCertPem": ca["certPem"], "caPrivateKeyPem": caKey,
		"allowedUses": list("digital_signature", "client_auth"), "validityPeriodHours": num(8760),
	})
	clientCert := parseCert(t, outStr(t, client, "certPem"))
	if _, err := clientCert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client cert does not verify: %v", err)
	}
	if _, err := clientCert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Errorf("client cert must not verify for server auth")
	}
	if len(clientCert.SubjectKeyId) != 0 {
		t.Errorf("client cert has a subject key id although setSubjectKeyId is false")
	}

	// A CA key that does not belong to the CA certificate is refused.
	inputs, _ := check(t, p, tLocallySigned, resource.PropertyMap{
		"certRequestPem": ccsr["certRequestPem"], "caCertPem": ca["certPem"], "caPrivateKeyPem": clientKey,
		"allowedUses": list("client_auth"), "validityPeriodHours": num(1),
	})
	if _, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(tLocallySigned, "bad"), Properties: toWire(t, inputs)}); err == nil {
		t.Errorf("signing with a key that is not the CA's should fail")
	}
}

func TestPreviewCreateReturnsUnknowns(t *testing.T) {
	p := newProvider("test")
	inputs, failures := check(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem": unknown(), "allowedUses": list("cert_signing"), "validityPeriodHours": num(1),
	})
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	resp, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(tSelfSignedCert, "r"), Properties: toWire(t, inputs), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	outs := fromWire(t, resp.GetProperties())
	for _, k := range []string{"certPem", "keyAlgorithm", "validityStartTime", "validityEndTime", "readyForRenewal"} {
		if !outs[resource.PropertyKey(k)].ContainsUnknowns() {
			t.Errorf("preview output %s = %v, want unknown", k, outs[resource.PropertyKey(k)])
		}
	}
	if props(outs).integer("validityPeriodHours") != 1 {
		t.Errorf("preview lost the inputs: %v", outs)
	}
	// Without preview, unknown inputs are an error rather than a bogus certificate.
	if _, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn(tSelfSignedCert, "r"), Properties: toWire(t, inputs)}); err == nil {
		t.Errorf("Create with unknown inputs should fail")
	}
}

func diff(t *testing.T, p *tlsProvider, typ string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	checked, failures := check(t, p, typ, news)
	if len(failures) > 0 {
		t.Fatalf("Check: %v", failures)
	}
	resp, err := p.Diff(ctx, &pulumirpc.DiffRequest{Urn: urn(typ, "r"), Olds: toWire(t, olds), News: toWire(t, checked)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestDiffReplaceUpdateAndRenewal(t *testing.T) {
	p := newProvider("test")
	key := generateKey(t, p, "ECDSA")
	base := func() resource.PropertyMap {
		return resource.PropertyMap{
			"privateKeyPem": key, "allowedUses": list("cert_signing"), "validityPeriodHours": num(100),
			"isCaCertificate": boolean(true), "dnsNames": list("a.example.com"),
		}
	}
	_, state := create(t, p, tSelfSignedCert, base())

	if d := diff(t, p, tSelfSignedCert, state, base()); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("same inputs: %v", d)
	}

	// The same key, no longer marked secret: not a change.
	plainKey := base()
	plainKey["privateKeyPem"] = unwrap(key)
	if d := diff(t, p, tSelfSignedCert, state, plainKey); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("secretness-only change: %v", d)
	}

	changed := base()
	changed["dnsNames"] = list("b.example.com")
	d := diff(t, p, tSelfSignedCert, state, changed)
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || !slices.Equal(d.GetReplaces(), []string{"dnsNames"}) ||
		d.GetDetailedDiff()["dnsNames"].GetKind() != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Errorf("dnsNames change should replace: %v", d)
	}

	removed := base()
	delete(removed, "dnsNames")
	d = diff(t, p, tSelfSignedCert, state, removed)
	if !slices.Equal(d.GetReplaces(), []string{"dnsNames"}) || d.GetDetailedDiff()["dnsNames"].GetKind() != pulumirpc.PropertyDiff_DELETE_REPLACE {
		t.Errorf("removing dnsNames should replace: %v", d)
	}

	// An input that is unknown in a preview may change: replace.
	pending := base()
	pending["privateKeyPem"] = unknown()
	if d = diff(t, p, tSelfSignedCert, state, pending); !slices.Contains(d.GetReplaces(), "privateKeyPem") {
		t.Errorf("unknown privateKeyPem should replace: %v", d)
	}

	// earlyRenewalHours updates in place...
	early := base()
	early["earlyRenewalHours"] = num(10)
	d = diff(t, p, tSelfSignedCert, state, early)
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || len(d.GetReplaces()) != 0 ||
		d.GetDetailedDiff()["earlyRenewalHours"].GetKind() != pulumirpc.PropertyDiff_UPDATE {
		t.Errorf("earlyRenewalHours should update in place: %v", d)
	}
	// ...unless the new value puts the renewal point in the past.
	early["earlyRenewalHours"] = num(200)
	d = diff(t, p, tSelfSignedCert, state, early)
	if !slices.Contains(d.GetReplaces(), "readyForRenewal") {
		t.Errorf("renewal due under the new earlyRenewalHours should replace: %v", d)
	}

	// Once the clock passes the end of validity, an unchanged certificate is replaced.
	defer func(orig func() time.Time) { now = orig }(now)
	now = func() time.Time { return time.Now().Add(101 * time.Hour) }
	d = diff(t, p, tSelfSignedCert, state, base())
	if d.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || !slices.Equal(d.GetReplaces(), []string{"readyForRenewal"}) {
		t.Errorf("expired certificate should be replaced: %v", d)
	}
}

func TestUpdateAndReadRecomputeReadyForRenewal(t *testing.T) {
	p := newProvider("test")
	key := generateKey(t, p, "RSA")
	_, state := create(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem": key, "allowedUses": list("server_auth"), "validityPeriodHours": num(48),
	})
	if props(state).boolean("readyForRenewal") {
		t.Fatal("fresh certificate ready for renewal")
	}

	// Update: earlyRenewalHours 47 puts the renewal point one hour after issue.
	news, _ := check(t, p, tSelfSignedCert, resource.PropertyMap{
		"privateKeyPem": key, "allowedUses": list("server_auth"), "validityPeriodHours": num(48), "earlyRenewalHours": num(47),
	})
	resp, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: urn(tSelfSignedCert, "r"), Olds: toWire(t, state), News: toWire(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	updated := fromWire(t, resp.GetProperties())
	if props(updated).integer("earlyRenewalHours") != 47 || props(updated).boolean("readyForRenewal") {
		t.Errorf("update: %v", updated)
	}
	if outStr(t, updated, "certPem") != outStr(t, state, "certPem") {
		t.Errorf("update must keep the certificate")
	}
	mustSecret(t, updated, "privateKeyPem")

	// Read two hours later: only readyForRenewal changes.
	defer func(orig func() time.Time) { now = orig }(now)
	now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	read, err := p.Read(ctx, &pulumirpc.ReadRequest{Id: "1", Urn: urn(tSelfSignedCert, "r"), Properties: toWire(t, updated), Inputs: toWire(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	after := fromWire(t, read.GetProperties())
	if !props(after).boolean("readyForRenewal") {
		t.Errorf("readyForRenewal not recomputed: %v", after["readyForRenewal"])
	}
	delete(after, "readyForRenewal")
	delete(updated, "readyForRenewal")
	if !after.DeepEquals(updated) {
		t.Errorf("Read changed more than readyForRenewal")
	}
	mustSecret(t, after, "privateKeyPem")
	if read.GetId() != "1" || !fromWire(t, read.GetInputs())["privateKeyPem"].IsSecret() {
		t.Errorf("Read id/inputs: %v", read)
	}

	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Id: "1", Urn: urn(tSelfSignedCert, "r")}); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

func TestGetPublicKey(t *testing.T) {
	p := newProvider("test")
	for _, alg := range []string{"RSA", "ECDSA", "ED25519"} {
		in := resource.PropertyMap{"algorithm": str(alg)}
		if alg == "ECDSA" {
			in["ecdsaCurve"] = str("P384")
		}
		_, key := create(t, p, tPrivateKey, in)
		for _, source := range []string{"privateKeyPem", "privateKeyOpenssh"} {
			args := resource.PropertyMap{resource.PropertyKey(source): unwrap(key[resource.PropertyKey(source)])}
			resp, err := p.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "tls:index/getPublicKey:getPublicKey", Args: toWire(t, args)})
			if err != nil || len(resp.GetFailures()) > 0 {
				t.Fatalf("%s/%s: %v %v", alg, source, err, resp.GetFailures())
			}
			ret := fromWire(t, resp.GetReturn())
			for _, k := range []string{"publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintSha256", "publicKeyFingerprintMd5"} {
				if outStr(t, ret, k) != outStr(t, key, k) {
					t.Errorf("%s/%s: %s differs", alg, source, k)
				}
			}
			if outStr(t, ret, "algorithm") != alg {
				t.Errorf("algorithm = %s", outStr(t, ret, "algorithm"))
			}
			mustSecret(t, ret, source)
		}
	}
	resp, err := p.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "tls:index/getPublicKey:getPublicKey", Args: toWire(t, resource.PropertyMap{})})
	if err != nil || len(resp.GetFailures()) == 0 {
		t.Errorf("no key should fail: %v %v", resp, err)
	}
}
