package main

// tls:index/certRequest:CertRequest creates a PKCS#10 certificate signing request for a key, to be
// signed by LocallySignedCert (or an external CA).

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var certRequestResource = &resourceSpec{
	inputs:  []string{"privateKeyPem", "privateKeyPemWo", "privateKeyPemWoVersion", "subject", "dnsNames", "ipAddresses", "uris"},
	outputs: []string{"certRequestPem", "keyAlgorithm"},
	secret:  []string{"privateKeyPem"},
	check: func(c *checker) {
		checkPrivateKeyPEM(c, "privateKeyPem")
		c.unsupported("privateKeyPemWo", "use privateKeyPem (stored encrypted as a secret)")
		c.unsupported("privateKeyPemWoVersion", "use privateKeyPem (stored encrypted as a secret)")
		checkSubjectAndNames(c)
	},
	create: createCertRequest,
}

func createCertRequest(in props) (string, resource.PropertyMap, error) {
	key, err := parsePrivateKeyPEM(in.str("privateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("privateKeyPem: %w", err)
	}
	tmpl := &x509.CertificateRequest{Subject: subjectName(in)}
	if tmpl.DNSNames, tmpl.IPAddresses, tmpl.URIs, err = alternativeNames(in); err != nil {
		return "", nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return "", nil, fmt.Errorf("creating certificate request: %w", err)
	}
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	return stateID(csrPEM), resource.PropertyMap{
		"certRequestPem": resource.NewStringProperty(csrPEM),
		"keyAlgorithm":   resource.NewStringProperty(algorithmOf(key)),
	}, nil
}
