package main

// tls:index/getPublicKey:getPublicKey derives the public key encodings from a private key given
// either as PEM or in OpenSSH format.

import (
	"crypto"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func getPublicKey(args props) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	c := &checker{in: args}
	hasPEM, hasSSH := args.has("privateKeyPem"), args.has("privateKeyOpenssh")
	if hasPEM == hasSSH {
		c.fail("privateKeyPem", "exactly one of privateKeyPem or privateKeyOpenssh must be set")
		return nil, c.failures, nil
	}
	source := "privateKeyPem"
	if hasSSH {
		source = "privateKeyOpenssh"
	}
	if !c.typed(source, "string") {
		return nil, c.failures, nil
	}
	var (
		key crypto.Signer
		err error
	)
	if hasPEM {
		key, err = parsePrivateKeyPEM(args.str(source))
	} else {
		key, err = parsePrivateKeyOpenSSH(args.str(source))
	}
	if err != nil {
		c.fail(source, "%s: invalid private key: %v", source, err)
		return nil, c.failures, nil
	}
	pub, err := describePublicKey(key.Public())
	if err != nil {
		return nil, nil, err
	}
	return resource.PropertyMap{
		"id":                         resource.NewStringProperty(stateID(pub.pem)),
		"algorithm":                  resource.NewStringProperty(algorithmOf(key)),
		resource.PropertyKey(source): resource.MakeSecret(resource.NewStringProperty(args.str(source))),
		"publicKeyPem":               resource.NewStringProperty(pub.pem),
		"publicKeyOpenssh":           resource.NewStringProperty(pub.openssh),
		"publicKeyFingerprintMd5":    resource.NewStringProperty(pub.md5),
		"publicKeyFingerprintSha256": resource.NewStringProperty(pub.sha256),
	}, nil, nil
}
