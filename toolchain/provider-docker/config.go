package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// defaultUnixHost is where the Docker CLI and the upstream provider look when neither the
// configuration nor DOCKER_HOST names a daemon.
const defaultUnixHost = "unix:///var/run/docker.sock"

// Configuration keys, spelled as the @pulumi/docker SDK sends them (camelCase, no "docker:"
// prefix) in CheckConfig/DiffConfig news and in Configure's args struct.
const (
	keyHost         = "host"
	keyCAMaterial   = "caMaterial"
	keyCertMaterial = "certMaterial"
	keyKeyMaterial  = "keyMaterial"
	keyCertPath     = "certPath"
	keyContext      = "context"
)

// stringKeys are the settings this plugin acts on (context is accepted and only warned about).
var stringKeys = []string{keyHost, keyCAMaterial, keyCertMaterial, keyKeyMaterial, keyCertPath, keyContext}

// ignoredKeys are upstream settings the SDK may send that have no effect here: registry
// credentials only matter for pulls/pushes, ssh:// hosts are refused anyway, and the daemon is
// never pinged at configure time so there is nothing to disable.
var ignoredKeys = map[string]bool{
	"registryAuth":             true,
	"sshOpts":                  true,
	"disableDockerDaemonCheck": true,
}

// engineKeys are added to every provider resource's inputs by the engine or the SDKs rather than
// by the user; they are not docker settings.
var engineKeys = map[string]bool{
	"version":           true,
	"pluginDownloadURL": true,
	"envVarMappings":    true,
	"parameter":         true,
}

// secretKeys are marked secret in the checked inputs whatever the program did, so a private key
// passed as a plain string still ends up encrypted in the state.
var secretKeys = []string{keyKeyMaterial}

// providerConfig is the user-facing configuration as given. Empty means "not set".
type providerConfig struct {
	Host         string
	CAMaterial   string
	CertMaterial string
	KeyMaterial  string
	CertPath     string
	Context      string

	// unknown lists keys whose values are not known yet (preview with computed inputs); checks
	// that depend on them are skipped rather than reported as "missing".
	unknown map[string]bool
}

// checkFailure mirrors pulumirpc.CheckFailure: the property at fault and a reason that names it.
type checkFailure struct {
	Property string
	Reason   string
}

func (f checkFailure) Error() string { return f.Reason }

// configFromProperties reads the configuration from a property map (CheckConfig news, Configure
// args). Secrets and outputs are unwrapped; computed values are recorded as unknown.
func configFromProperties(props resource.PropertyMap) (providerConfig, []checkFailure) {
	cfg := providerConfig{unknown: map[string]bool{}}
	var failures []checkFailure
	for _, k := range props.StableKeys() {
		key := string(k)
		v := unwrap(props[k])
		switch {
		case strings.HasPrefix(key, "__") || engineKeys[key] || ignoredKeys[key]:
			continue
		case !isStringKey(key):
			failures = append(failures, unknownKeyFailure(key))
			continue
		}
		switch {
		case v.IsComputed():
			cfg.unknown[key] = true
		case v.IsNull():
			// Unset: the SDK sends null for an Input that resolved to undefined.
		case v.IsString():
			cfg.set(key, v.StringValue())
		default:
			failures = append(failures, checkFailure{key, fmt.Sprintf(
				"docker provider: %s must be a string, got a %s", key, v.TypeString())})
		}
	}
	return cfg, failures
}

// configFromVariables reads the configuration from Configure's legacy variables map, whose keys
// are "docker:config:<key>" and whose values are strings (non-strings JSON-encoded). It is only
// used when an engine sends no args struct.
func configFromVariables(vars map[string]string) (providerConfig, []checkFailure) {
	cfg := providerConfig{unknown: map[string]bool{}}
	var failures []checkFailure
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, full := range keys {
		key := full
		// Accept both the "docker:config:host" form the engine sends and a bare "docker:host".
		if i := strings.LastIndex(full, ":"); i >= 0 {
			key = full[i+1:]
		}
		switch {
		case strings.HasPrefix(key, "__") || engineKeys[key] || ignoredKeys[key]:
			continue
		case !isStringKey(key):
			failures = append(failures, unknownKeyFailure(key))
			continue
		}
		// A null input is JSON-encoded as "null" in this map; it means "unset".
		if vars[full] != "null" {
			cfg.set(key, vars[full])
		}
	}
	return cfg, failures
}

func isStringKey(key string) bool {
	for _, k := range stringKeys {
		if k == key {
			return true
		}
	}
	return false
}

func unknownKeyFailure(key string) checkFailure {
	known := append([]string{}, stringKeys...)
	for k := range ignoredKeys {
		known = append(known, k)
	}
	sort.Strings(known)
	return checkFailure{key, fmt.Sprintf(
		"docker provider: unknown configuration key %q (supported: %s)", key, strings.Join(known, ", "))}
}

func (c *providerConfig) set(key, value string) {
	switch key {
	case keyHost:
		c.Host = value
	case keyCAMaterial:
		c.CAMaterial = value
	case keyCertMaterial:
		c.CertMaterial = value
	case keyKeyMaterial:
		c.KeyMaterial = value
	case keyCertPath:
		c.CertPath = value
	case keyContext:
		c.Context = value
	}
}

// unwrap strips secret and output wrappers; the plugin only needs plain values, and secretness
// is restored by the engine (and by markSecrets) on the way back.
func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return resource.MakeComputed(resource.NewProperty(""))
			}
			v = o.Element
		default:
			return v
		}
	}
}

// endpoint is a parsed daemon address.
type endpoint struct {
	Scheme string // "tcp" or "unix"
	Addr   string // host:port for tcp, socket path for unix
	Host   string // host part only (tcp), used as the TLS server name
	Raw    string // as configured (after defaulting), for messages
}

// effectiveHost applies the documented defaults: the configured host, else DOCKER_HOST, else
// the local socket.
func (c providerConfig) effectiveHost() string {
	if c.Host != "" {
		return c.Host
	}
	if env := os.Getenv("DOCKER_HOST"); env != "" {
		return env
	}
	return defaultUnixHost
}

// parseHost accepts tcp://HOST[:PORT] and unix:///PATH. The default tcp port follows the Docker
// CLI: 2376 with TLS, 2375 without.
func parseHost(raw string, tlsOn bool) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return endpoint{}, fmt.Errorf("docker provider: host %q is not a URL like tcp://HOST:2376 or unix:///var/run/docker.sock", raw)
	}
	switch u.Scheme {
	case "tcp":
		if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return endpoint{}, fmt.Errorf("docker provider: host %q must have the form tcp://HOST[:PORT]", raw)
		}
		hostname, port := u.Hostname(), u.Port()
		if port == "" {
			port = "2375"
			if tlsOn {
				port = "2376"
			}
		}
		return endpoint{Scheme: "tcp", Addr: net.JoinHostPort(hostname, port), Host: hostname, Raw: raw}, nil
	case "unix":
		path := u.Path
		if u.Host != "" { // unix://relative/path is a common typo for unix:///abs/path
			return endpoint{}, fmt.Errorf("docker provider: host %q must have the form unix:///ABSOLUTE/PATH (three slashes)", raw)
		}
		if path == "" {
			return endpoint{}, fmt.Errorf("docker provider: host %q names no socket path", raw)
		}
		return endpoint{Scheme: "unix", Addr: path, Raw: raw}, nil
	case "ssh":
		return endpoint{}, fmt.Errorf("docker provider: host %q: ssh:// is not supported by this project's docker plugin; use tcp:// with caMaterial/certMaterial/keyMaterial", raw)
	default:
		return endpoint{}, fmt.Errorf("docker provider: host %q: unsupported scheme %q (use tcp:// or unix://)", raw, u.Scheme)
	}
}

// tlsMaterial is the PEM text the connection will use, however it was supplied.
type tlsMaterial struct {
	CA, Cert, Key string
	// source names where each came from, so errors point at the right setting.
	caField, certField, keyField string
}

func (m tlsMaterial) any() bool { return m.CA != "" || m.Cert != "" || m.Key != "" }

// material gathers TLS material from the inline settings or from certPath (never both).
func (c providerConfig) material() (tlsMaterial, []checkFailure) {
	inline := c.CAMaterial != "" || c.CertMaterial != "" || c.KeyMaterial != "" ||
		c.unknown[keyCAMaterial] || c.unknown[keyCertMaterial] || c.unknown[keyKeyMaterial]
	if c.CertPath != "" || c.unknown[keyCertPath] {
		if inline {
			return tlsMaterial{}, []checkFailure{{keyCertPath,
				"docker provider: certPath and caMaterial/certMaterial/keyMaterial are mutually exclusive; set one or the other"}}
		}
		if c.unknown[keyCertPath] {
			return tlsMaterial{}, nil
		}
		m := tlsMaterial{caField: "certPath ca.pem", certField: "certPath cert.pem", keyField: "certPath key.pem"}
		var failures []checkFailure
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(c.CertPath, name))
			if err != nil {
				failures = append(failures, checkFailure{keyCertPath, fmt.Sprintf(
					"docker provider: certPath %q must contain ca.pem, cert.pem and key.pem: %v", c.CertPath, err)})
			}
			return string(b)
		}
		m.CA, m.Cert, m.Key = read("ca.pem"), read("cert.pem"), read("key.pem")
		return m, failures
	}
	return tlsMaterial{CA: c.CAMaterial, Cert: c.CertMaterial, Key: c.KeyMaterial,
		caField: keyCAMaterial, certField: keyCertMaterial, keyField: keyKeyMaterial}, nil
}

// validate checks everything that can be checked without contacting the daemon. Messages name
// the setting at fault and never echo key material.
func (c providerConfig) validate() []checkFailure {
	var failures []checkFailure
	m, mf := c.material()
	failures = append(failures, mf...)
	if len(mf) > 0 {
		return failures
	}
	unknownMaterial := c.unknown[keyCAMaterial] || c.unknown[keyCertMaterial] || c.unknown[keyKeyMaterial]
	tlsOn := m.any() || unknownMaterial

	if !c.unknown[keyHost] {
		ep, err := parseHost(c.effectiveHost(), tlsOn)
		if err != nil {
			failures = append(failures, checkFailure{keyHost, err.Error()})
		} else if ep.Scheme == "unix" && tlsOn {
			failures = append(failures, checkFailure{keyHost, fmt.Sprintf(
				"docker provider: TLS material is set but host %q is a unix socket; TLS applies to tcp:// hosts only", ep.Raw)})
		}
	}
	if unknownMaterial {
		// Some material is still unknown (preview): pairing rules cannot be judged yet.
		return failures
	}

	// Mutual TLS needs the certificate and its key together; the CA is what we trust the daemon
	// by, and there is deliberately no fallback to the system roots.
	switch {
	case m.Cert != "" && m.Key == "":
		failures = append(failures, checkFailure{keyKeyMaterial, fmt.Sprintf(
			"docker provider: %s is set but %s is missing; a client certificate needs its private key", m.certField, m.keyField)})
	case m.Key != "" && m.Cert == "":
		failures = append(failures, checkFailure{keyCertMaterial, fmt.Sprintf(
			"docker provider: %s is set but %s is missing; a private key needs its client certificate", m.keyField, m.certField)})
	}
	if (m.Cert != "" || m.Key != "") && m.CA == "" {
		failures = append(failures, checkFailure{keyCAMaterial, fmt.Sprintf(
			"docker provider: %s is missing; with a client certificate the daemon's CA must be given (it is the only trusted root)", m.caField)})
	}
	if m.CA != "" {
		if _, err := certPool(m.CA); err != nil {
			failures = append(failures, checkFailure{fieldKey(m.caField), fmt.Sprintf("docker provider: %s: %v", m.caField, err)})
		}
	}
	if m.Cert != "" && m.Key != "" {
		if _, err := keyPair(m.Cert, m.Key); err != nil {
			failures = append(failures, checkFailure{fieldKey(m.certField), fmt.Sprintf(
				"docker provider: %s/%s: %v", m.certField, m.keyField, err)})
		}
	}
	return failures
}

// fieldKey maps a message label ("certPath ca.pem") back to the config key it belongs to.
func fieldKey(label string) string {
	if strings.HasPrefix(label, keyCertPath) {
		return keyCertPath
	}
	return label
}

// certPool builds a pool holding only the given CA certificates.
func certPool(caPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(caPEM)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("not a valid certificate: %v", err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return pool, nil
}

// keyPair parses the client certificate and key. crypto/tls's errors say what is wrong (no
// block, mismatched key) without including key bytes.
func keyPair(certPEM, keyPEM string) (tls.Certificate, error) {
	return tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
}

// tlsConfig returns the client TLS configuration, or nil for a plaintext connection.
func tlsConfig(m tlsMaterial, serverName string) (*tls.Config, error) {
	if !m.any() {
		return nil, nil
	}
	pool, err := certPool(m.CA)
	if err != nil {
		return nil, fmt.Errorf("docker provider: %s: %v", m.caField, err)
	}
	cfg := &tls.Config{
		RootCAs:    pool, // the given CA is the only trusted root
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
	}
	if m.Cert != "" {
		pair, err := keyPair(m.Cert, m.Key)
		if err != nil {
			return nil, fmt.Errorf("docker provider: %s/%s: %v", m.certField, m.keyField, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
