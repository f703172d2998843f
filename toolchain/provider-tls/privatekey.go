package main

// tls:index/privateKey:PrivateKey generates a key and exposes it in the encodings upstream
// documents: privateKeyPem is PKCS#1 for RSA and SEC 1 for ECDSA (ED25519 has only PKCS#8),
// privateKeyPemPkcs8 is PKCS#8 for all, plus the OpenSSH forms and fingerprints.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

var curves = map[string]elliptic.Curve{
	"P224": elliptic.P224(),
	"P256": elliptic.P256(),
	"P384": elliptic.P384(),
	"P521": elliptic.P521(),
}

var privateKeyResource = &resourceSpec{
	inputs: []string{"algorithm", "rsaBits", "ecdsaCurve"},
	outputs: []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem",
		"publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"},
	secret: []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"},
	check: func(c *checker) {
		if c.required("algorithm") {
			c.oneOf("algorithm", algRSA, algECDSA, algED25519)
		}
		// Both defaults apply whatever the algorithm, as upstream stores them.
		c.defaultTo("rsaBits", resource.NewNumberProperty(2048))
		c.defaultTo("ecdsaCurve", resource.NewStringProperty("P224"))
		// Go refuses to generate RSA keys below 1024 bits; say so at check time.
		c.atLeast("rsaBits", 1024)
		c.oneOf("ecdsaCurve", "P224", "P256", "P384", "P521")
	},
	create: createPrivateKey,
}

func createPrivateKey(in props) (string, resource.PropertyMap, error) {
	var (
		key crypto.Signer
		err error
	)
	switch alg := in.str("algorithm"); alg {
	case algRSA:
		key, err = rsa.GenerateKey(rand.Reader, int(in.integer("rsaBits")))
	case algECDSA:
		key, err = ecdsa.GenerateKey(curves[in.str("ecdsaCurve")], rand.Reader)
	case algED25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return "", nil, fmt.Errorf("generating %s key: %w", in.str("algorithm"), err)
	}

	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	pkcs8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	keyPEM := pkcs8PEM
	switch k := key.(type) {
	case *rsa.PrivateKey:
		keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", nil, err
		}
		keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}

	// OpenSSH has no P-224: like the public OpenSSH forms, the private one stays empty then.
	opensshPEM := ""
	if block, err := ssh.MarshalPrivateKey(key, ""); err == nil {
		opensshPEM = string(pem.EncodeToMemory(block))
	}

	pub, err := describePublicKey(key.Public())
	if err != nil {
		return "", nil, err
	}
	return stateID(pub.pem), resource.PropertyMap{
		"privateKeyPem":              resource.NewStringProperty(keyPEM),
		"privateKeyPemPkcs8":         resource.NewStringProperty(pkcs8PEM),
		"privateKeyOpenssh":          resource.NewStringProperty(opensshPEM),
		"publicKeyPem":               resource.NewStringProperty(pub.pem),
		"publicKeyOpenssh":           resource.NewStringProperty(pub.openssh),
		"publicKeyFingerprintMd5":    resource.NewStringProperty(pub.md5),
		"publicKeyFingerprintSha256": resource.NewStringProperty(pub.sha256),
	}, nil
}
