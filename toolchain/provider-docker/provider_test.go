package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// --- certificates ---------------------------------------------------------------------------

type pki struct {
	caPEM   string
	caCert  *x509.Certificate
	caKey   *ecdsa.PrivateKey
	serial  int64
	t       *testing.T
	caPool_ *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{caPEM: pemOf("CERTIFICATE", der), caCert: cert, caKey: key, serial: 1, t: t, caPool_: pool}
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// issue returns (certPEM, keyPEM) for a server (IP SAN 127.0.0.1) or client certificate.
func (p *pki) issue(server bool) (string, string) {
	p.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: "client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.Subject.CommonName = "127.0.0.1"
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	return pemOf("CERTIFICATE", der), pemOf("EC PRIVATE KEY", kder)
}

// --- a fake daemon --------------------------------------------------------------------------

const bridgeJSON = `{
  "Name": "bridge", "Id": "f2de39df4171b0dc801e8002d1d999b77256983dfc63041c0f34030aa3977566",
  "Scope": "local", "Driver": "bridge", "Internal": false,
  "IPAM": {"Driver": "default", "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1",
           "AuxiliaryAddresses": {"router": "172.17.0.5"}}]},
  "Containers": {"c2": {"Name": "web", "EndpointID": "e2", "MacAddress": "02:42:ac:11:00:02",
                        "IPv4Address": "172.17.0.2/16", "IPv6Address": ""}},
  "Options": {"com.docker.network.bridge.name": "docker0"}
}`

// fakeDaemon answers the few Engine API paths the plugin uses, at API version 1.41.
func fakeDaemon() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		_, _ = io.WriteString(w, "OK")
	})
	mux.HandleFunc("/v1.41/networks/", func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimPrefix(r.URL.Path, "/v1.41/networks/") == "bridge" {
			_, _ = io.WriteString(w, bridgeJSON)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"network missing not found"}`)
	})
	mux.HandleFunc("/v1.41/images/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.41/images/alpine:3.20/json" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"No such image"}`)
			return
		}
		_, _ = io.WriteString(w, `{"Id":"sha256:aaa","RepoDigests":["other@sha256:111","alpine@sha256:222"]}`)
	})
	mux.HandleFunc("/v1.41/containers/web/json", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"Id":"c2","Config":{"Tty":false}}`)
	})
	mux.HandleFunc("/v1.41/containers/web/logs", func(w http.ResponseWriter, _ *http.Request) {
		frame := func(stream byte, s string) []byte {
			h := make([]byte, 8)
			h[0] = stream
			binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
			return append(h, s...)
		}
		_, _ = w.Write(frame(1, "hello\n"))
		_, _ = w.Write(frame(2, "oops\nbye\n"))
	})
	return mux
}

// tlsDaemon starts the fake daemon behind mutual TLS: the server presents a certificate from
// ca and requires a client certificate from the same CA.
func tlsDaemon(t *testing.T, ca *pki) *httptest.Server {
	t.Helper()
	certPEM, keyPEM := ca.issue(true)
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(fakeDaemon())
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.caPool_,
		MinVersion:   tls.VersionTLS12,
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected here
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func tcpHost(srv *httptest.Server) string {
	return "tcp://" + strings.TrimPrefix(srv.URL, "https://")
}

// --- RPC helpers ----------------------------------------------------------------------------

func mustStruct(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func props(kv ...string) resource.PropertyMap {
	m := resource.PropertyMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[resource.PropertyKey(kv[i])] = resource.NewProperty(kv[i+1])
	}
	return m
}

func configured(t *testing.T, cfg resource.PropertyMap) *dockerProvider {
	t.Helper()
	p := newProvider(nil)
	_, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		Args: mustStruct(t, cfg), AcceptSecrets: true, AcceptResources: true,
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func invoke(t *testing.T, p *dockerProvider, tok string, args resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	t.Helper()
	resp, err := p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: tok, Args: mustStruct(t, args)})
	if err != nil {
		return nil, nil, err
	}
	out, uerr := plugin.UnmarshalProperties(resp.GetReturn(), plugin.MarshalOptions{})
	if uerr != nil {
		t.Fatal(uerr)
	}
	return out, resp.GetFailures(), nil
}

// --- tests: functions over mutual TLS -------------------------------------------------------

func TestGetNetworkOverMutualTLS(t *testing.T) {
	ca := newPKI(t, "test-ca")
	srv := tlsDaemon(t, ca)
	cert, key := ca.issue(false)
	p := configured(t, props("host", tcpHost(srv), "caMaterial", ca.caPEM, "certMaterial", cert, "keyMaterial", key))

	out, failures, err := invoke(t, p, tokGetNetwork, props("name", "bridge"))
	if err != nil || len(failures) > 0 {
		t.Fatalf("getNetwork: err=%v failures=%v", err, failures)
	}
	if got := out["id"].StringValue(); !strings.HasPrefix(got, "f2de39df") {
		t.Errorf("id = %q", got)
	}
	for k, want := range map[string]string{"name": "bridge", "driver": "bridge", "scope": "local"} {
		if got := out[resource.PropertyKey(k)].StringValue(); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if out["internal"].BoolValue() {
		t.Error("internal = true")
	}
	if got := out["options"].ObjectValue()["com.docker.network.bridge.name"].StringValue(); got != "docker0" {
		t.Errorf("options = %v", out["options"])
	}
	ipam := out["ipamConfigs"].ArrayValue()
	if len(ipam) != 1 {
		t.Fatalf("ipamConfigs = %v", out["ipamConfigs"])
	}
	ic := ipam[0].ObjectValue()
	if ic["subnet"].StringValue() != "172.17.0.0/16" || ic["gateway"].StringValue() != "172.17.0.1" {
		t.Errorf("ipamConfigs[0] = %v", ic)
	}
	if _, has := ic["ipRange"]; has {
		t.Errorf("unset ipRange should be omitted: %v", ic)
	}
	if ic["auxAddress"].ObjectValue()["router"].StringValue() != "172.17.0.5" {
		t.Errorf("auxAddress = %v", ic["auxAddress"])
	}
	cs := out["containers"].ArrayValue()
	if len(cs) != 1 || cs[0].ObjectValue()["name"].StringValue() != "web" {
		t.Errorf("containers = %v", out["containers"])
	}

	// A daemon-side error carries the host, the versioned path and the daemon's message.
	_, _, err = invoke(t, p, tokGetNetwork, props("name", "missing"))
	want := "docker provider: GET " + srv.URL + "/v1.41/networks/missing: 404 Not Found: network missing not found"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("missing network: got %v, want %q", err, want)
	}
}

func TestRefusedWithoutClientCert(t *testing.T) {
	ca := newPKI(t, "test-ca")
	srv := tlsDaemon(t, ca)
	// CA only: the server is verified, but no client certificate is offered.
	p := configured(t, props("host", tcpHost(srv), "caMaterial", ca.caPEM))
	_, _, err := invoke(t, p, tokGetNetwork, props("name", "bridge"))
	if err == nil {
		t.Fatal("expected the daemon to refuse a client without a certificate")
	}
	msg := err.Error()
	if !strings.Contains(msg, "docker provider: GET "+srv.URL+"/_ping: ") || !strings.Contains(msg, "remote error: tls:") {
		t.Fatalf("unclear error: %v", msg)
	}
	t.Logf("error as the user sees it: %v", err)
}

func TestRefusedWithClientCertFromOtherCA(t *testing.T) {
	ca, other := newPKI(t, "test-ca"), newPKI(t, "other-ca")
	srv := tlsDaemon(t, ca)
	cert, key := other.issue(false)
	p := configured(t, props("host", tcpHost(srv), "caMaterial", ca.caPEM, "certMaterial", cert, "keyMaterial", key))
	_, _, err := invoke(t, p, tokGetNetwork, props("name", "bridge"))
	if err == nil || !strings.Contains(err.Error(), "remote error: tls:") || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("expected a TLS refusal naming the host, got %v", err)
	}
	t.Logf("error as the user sees it: %v", err)
}

func TestRefusedWhenCAMismatches(t *testing.T) {
	ca, other := newPKI(t, "test-ca"), newPKI(t, "other-ca")
	srv := tlsDaemon(t, ca)
	cert, key := ca.issue(false)
	// The client trusts only other-ca, so the daemon's certificate must be rejected even though
	// the client certificate would have been accepted.
	p := configured(t, props("host", tcpHost(srv), "caMaterial", other.caPEM, "certMaterial", cert, "keyMaterial", key))
	_, _, err := invoke(t, p, tokGetNetwork, props("name", "bridge"))
	if err == nil {
		t.Fatal("expected the daemon certificate to be rejected")
	}
	if !strings.Contains(err.Error(), "certificate signed by unknown authority") || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("unclear error: %v", err)
	}
	t.Logf("error as the user sees it: %v", err)
}

func TestServerNameIsVerified(t *testing.T) {
	ca := newPKI(t, "test-ca")
	srv := tlsDaemon(t, ca)
	cert, key := ca.issue(false)
	// Dial the right address but expect a name the daemon's certificate does not carry: the
	// server name comes from the host part of the URL and must be checked.
	ep := endpoint{Scheme: "tcp", Addr: srv.Listener.Addr().String(), Host: "not-in-cert.example"}
	cfg, err := tlsConfig(tlsMaterial{CA: ca.caPEM, Cert: cert, Key: key}, ep.Host)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newDockerClient(ep, cfg).version(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not-in-cert.example") {
		t.Fatalf("expected a name mismatch, got %v", err)
	}
	t.Logf("error as the user sees it: %v", err)
}

func TestGetRemoteImageAndLogs(t *testing.T) {
	ca := newPKI(t, "test-ca")
	srv := tlsDaemon(t, ca)
	cert, key := ca.issue(false)
	p := configured(t, props("host", tcpHost(srv), "caMaterial", ca.caPEM, "certMaterial", cert, "keyMaterial", key))

	out, _, err := invoke(t, p, tokGetRemoteImage, props("name", "alpine:3.20"))
	if err != nil {
		t.Fatal(err)
	}
	if out["id"].StringValue() != "sha256:aaa" || out["repoDigest"].StringValue() != "alpine@sha256:222" {
		t.Errorf("getRemoteImage = %v", out)
	}
	_, _, err = invoke(t, p, tokGetRemoteImage, props("name", "nope:1"))
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: No such image") {
		t.Errorf("missing image: %v", err)
	}
	_, failures, err := invoke(t, p, tokGetRemoteImage, props("name", "../../etc?x"))
	if err != nil || len(failures) != 1 || failures[0].Property != "name" {
		t.Errorf("bad image name: err=%v failures=%v", err, failures)
	}

	out, _, err = invoke(t, p, tokGetLogs, props("name", "web"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range out["logsListStrings"].ArrayValue() {
		lines = append(lines, l.StringValue())
	}
	if strings.Join(lines, "|") != "hello|oops|bye" || out["id"].StringValue() != "c2" {
		t.Errorf("getLogs = %v", out)
	}
}

func TestMissingArgumentIsACheckFailure(t *testing.T) {
	ca := newPKI(t, "test-ca")
	srv := tlsDaemon(t, ca)
	p := configured(t, props("host", tcpHost(srv), "caMaterial", ca.caPEM))
	_, failures, err := invoke(t, p, tokGetNetwork, resource.PropertyMap{})
	if err != nil || len(failures) != 1 || failures[0].Property != "name" {
		t.Fatalf("err=%v failures=%v", err, failures)
	}
	_, _, err = invoke(t, p, "docker:index/getPlugin:getPlugin", props("name", "x"))
	if err == nil || !strings.Contains(err.Error(), "not implemented by this project's docker plugin") {
		t.Fatalf("unsupported function: %v", err)
	}
}

// --- tests: unix sockets and the variables map -------------------------------------------------

func TestUnixSocketViaVariables(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	srv := &http.Server{Handler: fakeDaemon(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// An engine without args sends only the legacy variables map.
	p := newProvider(nil)
	_, err = p.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		Variables: map[string]string{"docker:config:host": "unix://" + sock, "docker:config:sshOpts": `["-v"]`},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := invoke(t, p, tokGetNetwork, props("name", "bridge"))
	if err != nil || out["name"].StringValue() != "bridge" {
		t.Fatalf("getNetwork over unix: out=%v err=%v", out, err)
	}
	_, _, err = invoke(t, p, tokGetNetwork, props("name", "missing"))
	if err == nil || !strings.Contains(err.Error(), "GET /v1.41/networks/missing on unix://"+sock) {
		t.Fatalf("unix error should name the socket: %v", err)
	}
}

func TestArgsPreferredOverVariables(t *testing.T) {
	ca := newPKI(t, "test-ca")
	srv := tlsDaemon(t, ca)
	cert, key := ca.issue(false)
	p := newProvider(nil)
	// Both forms as the engine sends them: args typed (key secret), variables flattened.
	args := props("host", tcpHost(srv), "caMaterial", ca.caPEM, "certMaterial", cert, "version", "5.2.0")
	args["keyMaterial"] = resource.MakeSecret(resource.NewProperty(key))
	args["registryAuth"] = resource.NewProperty(`[{"address":"r.example"}]`)
	_, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		Args:      mustStruct(t, args),
		Variables: map[string]string{"docker:config:host": "unix:///nonexistent.sock"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := invoke(t, p, tokGetNetwork, props("name", "bridge")); err != nil {
		t.Fatal(err)
	}
}

// --- tests: configuration validation ---------------------------------------------------------

func checkConfig(t *testing.T, news resource.PropertyMap) (*pulumirpc.CheckResponse, map[string]string) {
	t.Helper()
	resp, err := newProvider(nil).CheckConfig(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:dev::proj::pulumi:providers:docker::p", News: mustStruct(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	fails := map[string]string{}
	for _, f := range resp.GetFailures() {
		fails[f.GetProperty()] = f.GetReason()
	}
	return resp, fails
}

func TestConfigValidation(t *testing.T) {
	ca := newPKI(t, "test-ca")
	cert, key := ca.issue(false)
	_, otherKey := ca.issue(false)
	certDir := t.TempDir()
	for name, body := range map[string]string{"ca.pem": ca.caPEM, "cert.pem": cert, "key.pem": key} {
		if err := os.WriteFile(filepath.Join(certDir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const tcp = "tcp://127.0.0.1:2376"
	cases := []struct {
		name      string
		news      resource.PropertyMap
		property  string // "" = valid
		substring string
	}{
		{"full material", props("host", tcp, "caMaterial", ca.caPEM, "certMaterial", cert, "keyMaterial", key), "", ""},
		{"tcp without TLS is allowed", props("host", "tcp://127.0.0.1:2375"), "", ""},
		{"ca only", props("host", tcp, "caMaterial", ca.caPEM), "", ""},
		{"certPath", props("host", tcp, "certPath", certDir), "", ""},
		{"ignored keys", props("host", tcp, "context", "x", "sshOpts", "[]", "registryAuth", "[]", "disableDockerDaemonCheck", "true", "version", "5.2.0"), "", ""},
		{"cert without key", props("host", tcp, "caMaterial", ca.caPEM, "certMaterial", cert), "keyMaterial", "certMaterial is set but keyMaterial is missing"},
		{"key without cert", props("host", tcp, "caMaterial", ca.caPEM, "keyMaterial", key), "certMaterial", "keyMaterial is set but certMaterial is missing"},
		{"client cert without CA", props("host", tcp, "certMaterial", cert, "keyMaterial", key), "caMaterial", "caMaterial is missing"},
		{"mismatched key", props("host", tcp, "caMaterial", ca.caPEM, "certMaterial", cert, "keyMaterial", otherKey), "certMaterial", "private key does not match"},
		{"garbage CA", props("host", tcp, "caMaterial", "not a pem"), "caMaterial", "no PEM CERTIFICATE block"},
		{"TLS on a unix socket", props("host", "unix:///var/run/docker.sock", "caMaterial", ca.caPEM), "host", "TLS applies to tcp:// hosts only"},
		{"certPath and material", props("host", tcp, "certPath", certDir, "caMaterial", ca.caPEM), "certPath", "mutually exclusive"},
		{"certPath missing files", props("host", tcp, "certPath", t.TempDir()), "certPath", "must contain ca.pem, cert.pem and key.pem"},
		{"ssh host", props("host", "ssh://me@box"), "host", "ssh:// is not supported"},
		{"bad scheme", props("host", "http://127.0.0.1:2375"), "host", `unsupported scheme "http"`},
		{"not a URL", props("host", "127.0.0.1:2376"), "host", "is not a URL"},
		{"relative unix path", props("host", "unix://docker.sock"), "host", "three slashes"},
		{"typo key", props("hots", tcp), "hots", `unknown configuration key "hots"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, fails := checkConfig(t, tc.news)
			if tc.property == "" {
				if len(fails) > 0 || resp.GetInputs() == nil {
					t.Fatalf("expected valid, got failures %v", fails)
				}
				return
			}
			reason, ok := fails[tc.property]
			if !ok || !strings.Contains(reason, tc.substring) {
				t.Fatalf("want failure on %s containing %q, got %v", tc.property, tc.substring, fails)
			}
			for _, r := range fails {
				if strings.Contains(r, "PRIVATE KEY") {
					t.Fatalf("failure leaks key material: %s", r)
				}
			}
			// Configure must refuse the same configuration (it can run without CheckConfig).
			_, err := newProvider(nil).Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: mustStruct(t, tc.news)})
			if err == nil || !strings.Contains(err.Error(), tc.substring) {
				t.Fatalf("Configure: want error containing %q, got %v", tc.substring, err)
			}
		})
	}
}

func TestCheckConfigMarksKeySecretAndKeepsUnknowns(t *testing.T) {
	ca := newPKI(t, "test-ca")
	cert, key := ca.issue(false)
	news := props("host", "tcp://127.0.0.1:2376", "caMaterial", ca.caPEM, "certMaterial", cert, "keyMaterial", key)
	resp, fails := checkConfig(t, news)
	if len(fails) > 0 {
		t.Fatal(fails)
	}
	in, err := plugin.UnmarshalProperties(resp.GetInputs(), plugin.MarshalOptions{KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if !in["keyMaterial"].IsSecret() {
		t.Error("keyMaterial should come back secret")
	}
	if in["certMaterial"].IsSecret() || in["host"].StringValue() != "tcp://127.0.0.1:2376" {
		t.Error("other inputs should come back unchanged")
	}

	// Preview: material computed by another resource is not known yet; no "missing" errors.
	news = props("host", "tcp://127.0.0.1:2376", "caMaterial", ca.caPEM)
	news["certMaterial"] = resource.MakeComputed(resource.NewProperty(""))
	news["keyMaterial"] = resource.MakeComputed(resource.NewProperty(""))
	resp, fails = checkConfig(t, news)
	if len(fails) > 0 {
		t.Fatalf("unknowns must not fail: %v", fails)
	}
	in, err = plugin.UnmarshalProperties(resp.GetInputs(), plugin.MarshalOptions{KeepUnknowns: true})
	if err != nil {
		t.Fatal(err)
	}
	if !in["keyMaterial"].IsComputed() {
		t.Error("unknown keyMaterial should stay unknown")
	}
}

func TestDiffConfig(t *testing.T) {
	p := newProvider(nil)
	olds := props("host", "tcp://a:2376", "caMaterial", "x")
	news := props("host", "tcp://b:2376", "caMaterial", "x")
	news["keyMaterial"] = resource.MakeSecret(resource.NewProperty("k"))
	resp, err := p.DiffConfig(context.Background(), &pulumirpc.DiffRequest{Olds: mustStruct(t, olds), News: mustStruct(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME || strings.Join(resp.GetDiffs(), ",") != "host,keyMaterial" || len(resp.GetReplaces()) != 0 {
		t.Fatalf("diff = %v", resp)
	}
	// Same values, one side secret: no change.
	olds = props("keyMaterial", "k")
	news = resource.PropertyMap{"keyMaterial": resource.MakeSecret(resource.NewProperty("k"))}
	resp, err = p.DiffConfig(context.Background(), &pulumirpc.DiffRequest{Olds: mustStruct(t, olds), News: mustStruct(t, news)})
	if err != nil || resp.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("diff = %v, %v", resp, err)
	}
}

func TestResourcesAreNotImplemented(t *testing.T) {
	_, err := newProvider(nil).Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:dev::proj::docker:index/container:Container::web", Type: "docker:index/container:Container",
	})
	if err == nil || !strings.Contains(err.Error(), "resource type docker:index/container:Container is not implemented by this project's docker plugin") {
		t.Fatalf("got %v", err)
	}
}

func TestPluginInfo(t *testing.T) {
	info, err := newProvider(nil).GetPluginInfo(context.Background(), nil)
	if err != nil || info.GetVersion() != version {
		t.Fatalf("info=%v err=%v", info, err)
	}
}

// --- tests: helpers -------------------------------------------------------------------------

func TestPickRepoDigest(t *testing.T) {
	digests := []string{"registry:5000/app@sha256:1", "nginx@sha256:2"}
	for ref, want := range map[string]string{
		"nginx":                        "nginx@sha256:2",
		"nginx:1.27":                   "nginx@sha256:2",
		"docker.io/library/nginx:1":    "nginx@sha256:2",
		"registry:5000/app:v1":         "registry:5000/app@sha256:1",
		"nginx:1.27@sha256:3":          "nginx@sha256:3",
		"localonly:tag":                "",
		"registry:5000/app@sha256:abc": "registry:5000/app@sha256:abc",
	} {
		if got := pickRepoDigest(ref, digests); got != want {
			t.Errorf("pickRepoDigest(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	if !versionLess("1.9", "1.41") || versionLess("1.41", "1.41") || !versionLess("1.41", "1.47") || versionLess("1.50", "1.47") {
		t.Fatal("versionLess is wrong")
	}
}

func TestDefaultHost(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	if got := (providerConfig{}).effectiveHost(); got != defaultUnixHost {
		t.Errorf("default host = %q", got)
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
	if got := (providerConfig{}).effectiveHost(); got != "tcp://127.0.0.1:2375" {
		t.Errorf("DOCKER_HOST ignored: %q", got)
	}
	if ep, _ := parseHost("tcp://10.0.0.1", true); ep.Addr != "10.0.0.1:2376" {
		t.Errorf("default TLS port: %q", ep.Addr)
	}
	if ep, _ := parseHost("tcp://10.0.0.1", false); ep.Addr != "10.0.0.1:2375" {
		t.Errorf("default plain port: %q", ep.Addr)
	}
}
