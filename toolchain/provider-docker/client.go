package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// API versions. The client asks the daemon for its version once and speaks the lower of the two:
// pinning one version breaks against old daemons (Debian's 20.10 tops out at 1.41) and new ones
// alike (Engine 29 refuses anything below 1.44). Every field read here exists since 1.24.
const (
	maxAPIVersion = "1.47"
	minAPIVersion = "1.24"
)

// requestTimeout bounds a single inspect-style call; a dead or filtered host must fail the
// deployment with a message, not hang it.
const requestTimeout = 60 * time.Second

// maxResponseBytes caps what is read from the daemon for one JSON answer.
const maxResponseBytes = 32 << 20

// dockerClient talks to one Docker Engine API endpoint over net/http.
type dockerClient struct {
	ep         endpoint
	baseURL    string // scheme://authority used on the wire
	display    string // how the endpoint appears in messages (includes the host)
	secure     bool   // TLS in use
	clientCert bool   // a client certificate is configured
	http       *http.Client

	mu         sync.Mutex
	apiVersion string // negotiated on first use
}

// newDockerClient builds the transport for the endpoint. tlsCfg nil means plaintext (tcp only).
func newDockerClient(ep endpoint, tlsCfg *tls.Config) *dockerClient {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		// Deliberately no proxy: the daemon address is dialled directly, as the Docker CLI does
		// for unix sockets, so a stray HTTPS_PROXY cannot see (or break) the mutual TLS session.
		Proxy:                 nil,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     false, // dockerd speaks HTTP/1.1
	}
	c := &dockerClient{ep: ep, http: &http.Client{Transport: tr}}
	switch {
	case ep.Scheme == "unix":
		socket := ep.Addr
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
		// The authority is a placeholder; the dialler ignores it.
		c.baseURL = "http://docker.sock"
		c.display = ep.Raw
	case tlsCfg != nil:
		tr.DialContext = dialer.DialContext
		c.baseURL = "https://" + ep.Addr
		c.secure = true
		c.clientCert = len(tlsCfg.Certificates) > 0
		c.display = c.baseURL
	default:
		tr.DialContext = dialer.DialContext
		c.baseURL = "http://" + ep.Addr
		c.display = c.baseURL
	}
	return c
}

// close releases idle connections (a provider process may be reconfigured in tests).
func (c *dockerClient) close() { c.http.CloseIdleConnections() }

// requestError formats failures uniformly: "docker provider: GET <where>: <why>", where <where>
// always names the daemon so a multi-host deployment says which host failed.
func (c *dockerClient) requestError(method, path string, err error) error {
	var where string
	if c.ep.Scheme == "unix" {
		where = path + " on " + c.display
	} else {
		where = c.display + path
	}
	return fmt.Errorf("docker provider: %s %s: %s", method, where, c.explain(err))
}

// explain unwraps net/http's `Get "url": ...` wrapper (the URL is already in our prefix) and
// adds a hint for the TLS failures people actually hit.
func (c *dockerClient) explain(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	var (
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
	)
	switch {
	case errors.As(err, &unknownCA):
		msg += " (the daemon's certificate is not signed by the CA in caMaterial)"
	case errors.As(err, &badName):
		msg += fmt.Sprintf(" (the daemon's certificate is not issued for %q, the host part of the configured host)", c.ep.Host)
	case strings.Contains(msg, "remote error: tls:") && !c.clientCert:
		msg += " (the daemon requires a client certificate: set certMaterial and keyMaterial)"
	case strings.Contains(msg, "remote error: tls:"):
		msg += " (the daemon did not accept the client certificate: certMaterial must be signed by the CA the daemon trusts, its --tlscacert)"
	case errors.Is(err, context.DeadlineExceeded):
		msg += fmt.Sprintf(" (no answer within %s)", requestTimeout)
	}
	return msg
}

// apiError is a non-2xx answer from the daemon.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// version returns the API version to use, asking the daemon (GET /_ping) the first time.
func (c *dockerClient) version(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiVersion != "" {
		return c.apiVersion, nil
	}
	resp, err := c.send(ctx, http.MethodGet, "/_ping", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return "", c.requestError(http.MethodGet, "/_ping", &apiError{Status: resp.StatusCode})
	}
	server := resp.Header.Get("Api-Version")
	v := maxAPIVersion
	switch {
	case server == "":
		// Daemons older than 1.25 do not send the header; the floor is the only safe choice.
		v = minAPIVersion
	case versionLess(server, minAPIVersion):
		return "", c.requestError(http.MethodGet, "/_ping", fmt.Errorf(
			"daemon API version %s is older than the minimum %s", server, minAPIVersion))
	case versionLess(server, maxAPIVersion):
		v = server
	}
	c.apiVersion = v
	return v, nil
}

// send performs one request on an unversioned path and returns the raw response. Transport
// errors are already formatted with requestError.
func (c *dockerClient) send(ctx context.Context, method, path string, query url.Values) (*http.Response, error) {
	target := c.baseURL + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, c.requestError(method, path, err)
	}
	req.Header.Set("User-Agent", "pulumi-resource-docker/"+version+" (docker-tls)")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.requestError(method, path, err)
	}
	return resp, nil
}

// do performs a versioned API call (path like "/networks/bridge") and returns the response for
// a 2xx status; any other status becomes an error carrying the daemon's message.
func (c *dockerClient) do(ctx context.Context, method, path string, query url.Values) (*http.Response, error) {
	v, err := c.version(ctx)
	if err != nil {
		return nil, err
	}
	full := "/v" + v + path
	resp, err := c.send(ctx, method, full, query)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var msg struct {
		Message string `json:"message"`
	}
	text := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &msg) == nil && msg.Message != "" {
		text = msg.Message
	}
	return nil, c.requestError(method, full, &apiError{Status: resp.StatusCode, Message: text})
}

// getJSON performs GET path and decodes the JSON answer into out.
func (c *dockerClient) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, path, query)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(out); err != nil {
		return c.requestError(http.MethodGet, resp.Request.URL.Path, fmt.Errorf("decoding the daemon's answer: %w", err))
	}
	return nil
}

// versionLess compares dotted API versions numerically ("1.9" < "1.41").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
