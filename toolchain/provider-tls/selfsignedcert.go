package main

// tls:index/selfSignedCert:SelfSignedCert issues a certificate signed by its own key (typically a
// CA). The SDK sends privateKeyPem as a secret; it is stored back as one.

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var selfSignedCertResource = &resourceSpec{
	inputs: append([]string{"privateKeyPem", "privateKeyPemWo", "privateKeyPemWoVersion", "subject",
		"dnsNames", "ipAddresses", "uris", "setAuthorityKeyId"}, certIssueInputs...),
	inPlace: []string{"earlyRenewalHours"},
	outputs: append([]string{"keyAlgorithm"}, certIssueOutputs...),
	secret:  []string{"privateKeyPem"},
	renews:  true,
	check: func(c *checker) {
		checkPrivateKeyPEM(c, "privateKeyPem")
		// Pulumi stores every input in its state anyway, so write-only inputs would not keep
		// the key out of it; rather than pretend, they are refused.
		c.unsupported("privateKeyPemWo", "use privateKeyPem (stored encrypted as a secret)")
		c.unsupported("privateKeyPemWoVersion", "use privateKeyPem (stored encrypted as a secret)")
		checkSubjectAndNames(c)
		checkIssue(c)
		c.defaultTo("setAuthorityKeyId", resource.NewBoolProperty(false))
		c.typed("setAuthorityKeyId", "boolean")
	},
	create: createSelfSignedCert,
}

func createSelfSignedCert(in props) (string, resource.PropertyMap, error) {
	key, err := parsePrivateKeyPEM(in.str("privateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("privateKeyPem: %w", err)
	}
	tmpl, err := issueTemplate(in)
	if err != nil {
		return "", nil, err
	}
	tmpl.Subject = subjectName(in)
	if tmpl.DNSNames, tmpl.IPAddresses, tmpl.URIs, err = alternativeNames(in); err != nil {
		return "", nil, err
	}
	if in.boolean("setSubjectKeyId") || in.boolean("setAuthorityKeyId") {
		ski, err := subjectKeyID(key.Public())
		if err != nil {
			return "", nil, err
		}
		if in.boolean("setSubjectKeyId") {
			tmpl.SubjectKeyId = ski
		}
		// Self-signed: the authority is the certificate's own key.
		if in.boolean("setAuthorityKeyId") {
			tmpl.AuthorityKeyId = ski
		}
	}
	id, outs, err := issue(tmpl, tmpl, key.Public(), key, in)
	if err != nil {
		return "", nil, err
	}
	outs["keyAlgorithm"] = resource.NewStringProperty(algorithmOf(key))
	return id, outs, nil
}
