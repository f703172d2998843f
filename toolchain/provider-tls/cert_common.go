package main

// What SelfSignedCert, LocallySignedCert and CertRequest have in common: the subject and subject
// alternative names, the allowed uses, the validity window with early renewal, and issuing the
// certificate.

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// now is the clock every validity computation reads; tests move it.
var now = time.Now

// keyUsages and extKeyUsages map the accepted allowedUses values (upstream's snake_case names)
// to the RFC 5280 key usage bits and extended key usage purposes.
var keyUsages = map[string]x509.KeyUsage{
	"digital_signature":  x509.KeyUsageDigitalSignature,
	"content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment":   x509.KeyUsageKeyEncipherment,
	"data_encipherment":  x509.KeyUsageDataEncipherment,
	"key_agreement":      x509.KeyUsageKeyAgreement,
	"cert_signing":       x509.KeyUsageCertSign,
	"crl_signing":        x509.KeyUsageCRLSign,
	"encipher_only":      x509.KeyUsageEncipherOnly,
	"decipher_only":      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended":                      x509.ExtKeyUsageAny,
	"server_auth":                       x509.ExtKeyUsageServerAuth,
	"client_auth":                       x509.ExtKeyUsageClientAuth,
	"code_signing":                      x509.ExtKeyUsageCodeSigning,
	"email_protection":                  x509.ExtKeyUsageEmailProtection,
	"ipsec_end_system":                  x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel":                      x509.ExtKeyUsageIPSECTunnel,
	"ipsec_user":                        x509.ExtKeyUsageIPSECUser,
	"timestamping":                      x509.ExtKeyUsageTimeStamping,
	"ocsp_signing":                      x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoft_commercial_code_signing": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoft_kernel_code_signing":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

// oidEmailAddress is the PKCS#9 emailAddress attribute used for subject.emailAddress.
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// maxValidityHours keeps NotAfter representable as a time.Duration from now.
const maxValidityHours = math.MaxInt64 / int64(time.Hour)

// Property lists shared by the certificate resources.
var (
	subjectFields = []string{"commonName", "organization", "organizationalUnit", "country", "province",
		"locality", "postalCode", "serialNumber", "emailAddress"}
	certIssueInputs  = []string{"allowedUses", "validityPeriodHours", "earlyRenewalHours", "isCaCertificate", "maxPathLength", "setSubjectKeyId"}
	certIssueOutputs = []string{"certPem", "validityStartTime", "validityEndTime", "readyForRenewal"}
)

// checkSubjectAndNames validates subject, dnsNames, ipAddresses and uris (SelfSignedCert and
// CertRequest; LocallySignedCert takes them from the request).
func checkSubjectAndNames(c *checker) {
	if c.typed("subject", "object") {
		sub := c.in.object("subject")
		for key := range sub {
			k := string(key)
			v := unwrap(sub[key])
			switch {
			case v.IsNull() || v.ContainsUnknowns():
			case k == "streetAddresses":
				if !v.IsArray() {
					c.fail("subject.streetAddresses", "subject.streetAddresses must be a list of strings")
				}
			case slices.Contains(subjectFields, k):
				if !v.IsString() {
					c.fail("subject."+k, "subject.%s must be a string", k)
				}
			default:
				c.fail("subject."+k, "unknown subject field %q (accepted: %s, streetAddresses)", k, strings.Join(subjectFields, ", "))
			}
		}
	}
	c.typed("dnsNames", "string[]")
	if c.typed("ipAddresses", "string[]") {
		for i, ip := range c.in.strings("ipAddresses") {
			if net.ParseIP(ip) == nil {
				c.fail(fmt.Sprintf("ipAddresses[%d]", i), "ipAddresses[%d]: %q is not an IP address", i, ip)
			}
		}
	}
	if c.typed("uris", "string[]") {
		for i, u := range c.in.strings("uris") {
			if _, err := url.Parse(u); err != nil {
				c.fail(fmt.Sprintf("uris[%d]", i), "uris[%d]: %v", i, err)
			}
		}
	}
}

// checkIssue validates the inputs that control how a certificate is issued and applies their
// documented defaults.
func checkIssue(c *checker) {
	if c.required("allowedUses") && c.typed("allowedUses", "string[]") {
		for i, use := range c.in.strings("allowedUses") {
			if _, ok := keyUsages[use]; ok {
				continue
			}
			if _, ok := extKeyUsages[use]; ok {
				continue
			}
			// The SDK docs spell the values in camelCase, but the provider (like upstream)
			// takes the snake_case names; say so rather than just rejecting.
			c.fail(fmt.Sprintf("allowedUses[%d]", i), "allowedUses[%d]: unknown usage %q (accepted: %s)",
				i, use, strings.Join(acceptedUses(), ", "))
		}
	}
	if c.required("validityPeriodHours") {
		c.atLeast("validityPeriodHours", 0)
		if c.in.integer("validityPeriodHours") > maxValidityHours {
			c.fail("validityPeriodHours", "validityPeriodHours must be at most %d", maxValidityHours)
		}
	}
	c.defaultTo("earlyRenewalHours", resource.NewNumberProperty(0))
	c.atLeast("earlyRenewalHours", 0)
	c.defaultTo("isCaCertificate", resource.NewBoolProperty(false))
	c.typed("isCaCertificate", "boolean")
	c.defaultTo("maxPathLength", resource.NewNumberProperty(0))
	c.atLeast("maxPathLength", -1)
	c.defaultTo("setSubjectKeyId", resource.NewBoolProperty(false))
	c.typed("setSubjectKeyId", "boolean")
}

// checkPrivateKeyPEM validates a PEM private key input without ever echoing it.
func checkPrivateKeyPEM(c *checker, key string) {
	if c.required(key) && c.typed(key, "string") {
		if _, err := parsePrivateKeyPEM(c.in.str(key)); err != nil {
			c.fail(key, "%s: invalid private key: %v", key, err)
		}
	}
}

func acceptedUses() []string {
	var out []string
	for k := range keyUsages {
		out = append(out, k)
	}
	for k := range extKeyUsages {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// subjectName builds the distinguished name from the subject object.
func subjectName(in props) pkix.Name {
	sub := in.object("subject")
	var name pkix.Name
	name.CommonName = sub.str("commonName")
	name.SerialNumber = sub.str("serialNumber")
	one := func(key string) []string {
		if v := sub.str(key); v != "" {
			return []string{v}
		}
		return nil
	}
	name.Organization = one("organization")
	name.OrganizationalUnit = one("organizationalUnit")
	name.Country = one("country")
	name.Province = one("province")
	name.Locality = one("locality")
	name.PostalCode = one("postalCode")
	name.StreetAddress = sub.strings("streetAddresses")
	if email := sub.str("emailAddress"); email != "" {
		// emailAddress is an IA5String; a plain Go string would be encoded as a UTF8String.
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{
			Type:  oidEmailAddress,
			Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagIA5String, Bytes: []byte(email)},
		})
	}
	return name
}

// alternativeNames parses dnsNames, ipAddresses and uris (already validated by Check).
func alternativeNames(in props) (dns []string, ips []net.IP, uris []*url.URL, err error) {
	dns = in.strings("dnsNames")
	for _, s := range in.strings("ipAddresses") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, nil, fmt.Errorf("ipAddresses: %q is not an IP address", s)
		}
		ips = append(ips, ip)
	}
	for _, s := range in.strings("uris") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("uris: %w", err)
		}
		uris = append(uris, u)
	}
	return dns, ips, uris, nil
}

// issueTemplate starts a certificate from the issuing inputs: a random serial number, the
// validity window, the allowed uses and the basic constraints.
func issueTemplate(in props) (*x509.Certificate, error) {
	// 128 random bits, as recommended by the CA/Browser forum; zero is not a valid serial.
	serial := new(big.Int)
	for serial.Sign() == 0 {
		var err error
		if serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
			return nil, fmt.Errorf("generating serial number: %w", err)
		}
	}
	// Second precision, so that the certificate and the RFC 3339 outputs agree exactly.
	start := now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             start,
		NotAfter:              start.Add(time.Duration(in.integer("validityPeriodHours")) * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  in.boolean("isCaCertificate"),
	}
	for _, use := range in.strings("allowedUses") {
		if ku, ok := keyUsages[use]; ok {
			tmpl.KeyUsage |= ku
		} else if eku, ok := extKeyUsages[use]; ok {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, eku)
		}
	}
	// A path length applies to CAs only. 0 is the default and, like upstream, means "no
	// constraint" (it cannot be told apart from an unset value); -1 means the same.
	if tmpl.IsCA && in.integer("maxPathLength") > 0 {
		tmpl.MaxPathLen = int(in.integer("maxPathLength"))
	}
	return tmpl, nil
}

// issue signs the certificate and returns the outputs every certificate resource has, plus the
// resource ID (the serial number in decimal, as upstream).
func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, in props) (string, resource.PropertyMap, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return "", nil, fmt.Errorf("creating certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	outs := resource.PropertyMap{
		"certPem":           resource.NewStringProperty(string(certPEM)),
		"validityStartTime": resource.NewStringProperty(tmpl.NotBefore.Format(time.RFC3339)),
		"validityEndTime":   resource.NewStringProperty(tmpl.NotAfter.Format(time.RFC3339)),
	}
	outs["readyForRenewal"] = resource.NewBoolProperty(readyForRenewal(tmpl.NotAfter, in.integer("earlyRenewalHours")))
	return tmpl.SerialNumber.String(), outs, nil
}

// readyForRenewal is true once the renewal point (the end of validity minus the early renewal
// hours) has been reached.
func readyForRenewal(end time.Time, earlyRenewalHours int64) bool {
	renewAt := end.Add(-time.Duration(earlyRenewalHours) * time.Hour)
	return !now().Before(renewAt)
}

// stateReadyForRenewal evaluates readyForRenewal for a stored certificate, with the given early
// renewal hours; ok is false when the state has no usable validityEndTime.
func stateReadyForRenewal(state props, earlyRenewalHours int64) (ready, ok bool) {
	end, err := time.Parse(time.RFC3339, state.str("validityEndTime"))
	if err != nil {
		return false, false
	}
	return readyForRenewal(end, earlyRenewalHours), true
}

// parseCertificatePEM reads one PEM "CERTIFICATE".
func parseCertificatePEM(data string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(data))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM CERTIFICATE block found")
	}
	return x509.ParseCertificate(block.Bytes)
}

// parseCertRequestPEM reads a PEM certificate request and checks its self-signature.
func parseCertRequestPEM(data string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(data))
	if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
		return nil, fmt.Errorf("no PEM CERTIFICATE REQUEST block found")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("bad request signature: %w", err)
	}
	return csr, nil
}
