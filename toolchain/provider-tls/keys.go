package main

// Key handling shared by every resource: parsing the PEM private keys users hand in, naming their
// algorithm the way the SDK reports it, and the public-key encodings PrivateKey and getPublicKey
// expose.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// Algorithm names as they appear in the SDK's algorithm/keyAlgorithm properties.
const (
	algRSA     = "RSA"
	algECDSA   = "ECDSA"
	algED25519 = "ED25519"
)

// parsePrivateKeyPEM accepts the PEM encodings the upstream provider accepts: PKCS#1 ("RSA PRIVATE
// KEY"), SEC 1 ("EC PRIVATE KEY") and PKCS#8 ("PRIVATE KEY"). Errors never quote the key.
func parsePrivateKeyPEM(data string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(data))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q (want RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", block.Type, err)
	}
	return asSigner(key)
}

// parsePrivateKeyOpenSSH reads an unencrypted "OPENSSH PRIVATE KEY" (or any PEM the ssh package
// understands).
func parsePrivateKeyOpenSSH(data string) (crypto.Signer, error) {
	key, err := ssh.ParseRawPrivateKey([]byte(data))
	if err != nil {
		return nil, err
	}
	return asSigner(key)
}

// asSigner normalises the key types the parsers return (the ssh package hands out ed25519 keys
// by pointer) and rejects algorithms the provider does not support.
func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	case *ed25519.PrivateKey:
		return *k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T (want RSA, ECDSA or ED25519)", key)
}

func algorithmOf(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return algRSA
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return algECDSA
	case ed25519.PrivateKey, ed25519.PublicKey:
		return algED25519
	}
	return ""
}

// publicKeyInfo holds the public encodings of a key, as exposed by PrivateKey and getPublicKey.
// The OpenSSH forms are empty for keys OpenSSH cannot represent (ECDSA P-224), as documented.
type publicKeyInfo struct {
	pem, openssh, md5, sha256 string
}

func describePublicKey(pub crypto.PublicKey) (publicKeyInfo, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return publicKeyInfo{}, err
	}
	info := publicKeyInfo{pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
	if sshPub, err := ssh.NewPublicKey(pub); err == nil {
		info.openssh = string(ssh.MarshalAuthorizedKey(sshPub))
		info.md5 = ssh.FingerprintLegacyMD5(sshPub)
		info.sha256 = ssh.FingerprintSHA256(sshPub)
	}
	return info, nil
}

// subjectKeyID is the RFC 5280 section 4.2.1.2 method (1) identifier: the SHA-1 hash of the
// subjectPublicKey BIT STRING (not of the whole SubjectPublicKeyInfo).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// stateID derives a stable resource ID from content, like upstream's hex SHA-1 IDs.
func stateID(content string) string {
	sum := sha1.Sum([]byte(content))
	return hex.EncodeToString(sum[:])
}

// samePublicKey reports whether two public keys are equal (all stdlib key types implement Equal).
func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
