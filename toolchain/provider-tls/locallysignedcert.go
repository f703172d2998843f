package main

// tls:index/locallySignedCert:LocallySignedCert signs a certificate request with a CA key and
// certificate. Subject and alternative names come from the request, as upstream; the authority
// key identifier is taken from the CA certificate's subject key identifier when it has one.

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var locallySignedCertResource = &resourceSpec{
	inputs: append([]string{"certRequestPem", "caCertPem", "caPrivateKeyPem", "caPrivateKeyPemWo",
		"caPrivateKeyPemWoVersion"}, certIssueInputs...),
	inPlace: []string{"earlyRenewalHours"},
	outputs: append([]string{"caKeyAlgorithm"}, certIssueOutputs...),
	secret:  []string{"caPrivateKeyPem"},
	renews:  true,
	check: func(c *checker) {
		if c.required("certRequestPem") && c.typed("certRequestPem", "string") {
			if _, err := parseCertRequestPEM(c.in.str("certRequestPem")); err != nil {
				c.fail("certRequestPem", "certRequestPem: invalid certificate request: %v", err)
			}
		}
		if c.required("caCertPem") && c.typed("caCertPem", "string") {
			if _, err := parseCertificatePEM(c.in.str("caCertPem")); err != nil {
				c.fail("caCertPem", "caCertPem: invalid certificate: %v", err)
			}
		}
		checkPrivateKeyPEM(c, "caPrivateKeyPem")
		c.unsupported("caPrivateKeyPemWo", "use caPrivateKeyPem (stored encrypted as a secret)")
		c.unsupported("caPrivateKeyPemWoVersion", "use caPrivateKeyPem (stored encrypted as a secret)")
		checkIssue(c)
	},
	create: createLocallySignedCert,
}

func createLocallySignedCert(in props) (string, resource.PropertyMap, error) {
	csr, err := parseCertRequestPEM(in.str("certRequestPem"))
	if err != nil {
		return "", nil, fmt.Errorf("certRequestPem: %w", err)
	}
	caCert, err := parseCertificatePEM(in.str("caCertPem"))
	if err != nil {
		return "", nil, fmt.Errorf("caCertPem: %w", err)
	}
	caKey, err := parsePrivateKeyPEM(in.str("caPrivateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("caPrivateKeyPem: %w", err)
	}
	if !samePublicKey(caKey.Public(), caCert.PublicKey) {
		return "", nil, fmt.Errorf("caPrivateKeyPem does not belong to the certificate in caCertPem")
	}

	tmpl, err := issueTemplate(in)
	if err != nil {
		return "", nil, err
	}
	tmpl.Subject = csr.Subject
	tmpl.DNSNames = csr.DNSNames
	tmpl.IPAddresses = csr.IPAddresses
	tmpl.URIs = csr.URIs
	if in.boolean("setSubjectKeyId") {
		if tmpl.SubjectKeyId, err = subjectKeyID(csr.PublicKey); err != nil {
			return "", nil, err
		}
	}
	id, outs, err := issue(tmpl, caCert, csr.PublicKey, caKey, in)
	if err != nil {
		return "", nil, err
	}
	outs["caKeyAlgorithm"] = resource.NewStringProperty(algorithmOf(caKey))
	return id, outs, nil
}
