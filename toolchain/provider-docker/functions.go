package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Function tokens, as the @pulumi/docker SDK invokes them.
const (
	tokGetNetwork     = "docker:index/getNetwork:getNetwork"
	tokGetRemoteImage = "docker:index/getRemoteImage:getRemoteImage"
	tokGetLogs        = "docker:index/getLogs:getLogs"
)

// function is one invoke: it gets plain (unwrapped) arguments and returns the result object
// with the property names the SDK's Get*Result interface declares.
type function func(ctx context.Context, c *dockerClient, args resource.PropertyMap) (resource.PropertyMap, error)

var functions = map[string]function{
	tokGetNetwork:     getNetwork,
	tokGetRemoteImage: getRemoteImage,
	tokGetLogs:        getLogs,
}

// argError is an invalid argument; Invoke reports it as a check failure on that property.
type argError struct{ checkFailure }

func requiredString(args resource.PropertyMap, key string) (string, error) {
	v, ok := args[resource.PropertyKey(key)]
	if !ok || v.IsNull() || !v.IsString() || v.StringValue() == "" {
		return "", argError{checkFailure{key, fmt.Sprintf("docker provider: %s is required and must be a non-empty string", key)}}
	}
	return v.StringValue(), nil
}

func optionalString(args resource.PropertyMap, key string) (string, bool, error) {
	v, ok := args[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return "", false, nil
	}
	if !v.IsString() {
		return "", false, argError{checkFailure{key, fmt.Sprintf("docker provider: %s must be a string", key)}}
	}
	return v.StringValue(), true, nil
}

func optionalBool(args resource.PropertyMap, key string, def bool) (bool, error) {
	v, ok := args[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return def, nil
	}
	if !v.IsBool() {
		return false, argError{checkFailure{key, fmt.Sprintf("docker provider: %s must be a boolean", key)}}
	}
	return v.BoolValue(), nil
}

// networkInspect is the part of GET /networks/{id} that getNetwork reports.
type networkInspect struct {
	ID       string            `json:"Id"`
	Name     string            `json:"Name"`
	Driver   string            `json:"Driver"`
	Scope    string            `json:"Scope"`
	Internal bool              `json:"Internal"`
	Options  map[string]string `json:"Options"`
	IPAM     struct {
		Config []struct {
			Subnet     string            `json:"Subnet"`
			Gateway    string            `json:"Gateway"`
			IPRange    string            `json:"IPRange"`
			AuxAddress map[string]string `json:"AuxiliaryAddresses"`
		} `json:"Config"`
	} `json:"IPAM"`
	Containers map[string]struct {
		Name        string `json:"Name"`
		EndpointID  string `json:"EndpointID"`
		MacAddress  string `json:"MacAddress"`
		IPv4Address string `json:"IPv4Address"`
		IPv6Address string `json:"IPv6Address"`
	} `json:"Containers"`
}

// getNetwork inspects a network by name (the daemon also accepts an ID).
func getNetwork(ctx context.Context, c *dockerClient, args resource.PropertyMap) (resource.PropertyMap, error) {
	name, err := requiredString(args, "name")
	if err != nil {
		return nil, err
	}
	var n networkInspect
	if err := c.getJSON(ctx, "/networks/"+url.PathEscape(name), nil, &n); err != nil {
		return nil, err
	}

	options := resource.PropertyMap{}
	for k, v := range n.Options {
		options[resource.PropertyKey(k)] = resource.NewProperty(v)
	}
	ipam := []resource.PropertyValue{}
	for _, cfg := range n.IPAM.Config {
		// The SDK declares every IPAM field optional; absent ones are left out, not "".
		m := resource.PropertyMap{}
		putIfSet(m, "subnet", cfg.Subnet)
		putIfSet(m, "gateway", cfg.Gateway)
		putIfSet(m, "ipRange", cfg.IPRange)
		if len(cfg.AuxAddress) > 0 {
			aux := resource.PropertyMap{}
			for k, v := range cfg.AuxAddress {
				aux[resource.PropertyKey(k)] = resource.NewProperty(v)
			}
			m["auxAddress"] = resource.NewProperty(aux)
		}
		ipam = append(ipam, resource.NewProperty(m))
	}
	// Containers come as a map keyed by ID; sort for a stable result between runs.
	ids := make([]string, 0, len(n.Containers))
	for id := range n.Containers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	containers := []resource.PropertyValue{}
	for _, id := range ids {
		ct := n.Containers[id]
		containers = append(containers, resource.NewProperty(resource.PropertyMap{
			"containerId": resource.NewProperty(id),
			"endpointId":  resource.NewProperty(ct.EndpointID),
			"ipv4Address": resource.NewProperty(ct.IPv4Address),
			"ipv6Address": resource.NewProperty(ct.IPv6Address),
			"macAddress":  resource.NewProperty(ct.MacAddress),
			"name":        resource.NewProperty(ct.Name),
		}))
	}
	return resource.PropertyMap{
		"id":          resource.NewProperty(n.ID),
		"name":        resource.NewProperty(n.Name),
		"driver":      resource.NewProperty(n.Driver),
		"internal":    resource.NewProperty(n.Internal),
		"scope":       resource.NewProperty(n.Scope),
		"options":     resource.NewProperty(options),
		"ipamConfigs": resource.NewProperty(ipam),
		"containers":  resource.NewProperty(containers),
	}, nil
}

func putIfSet(m resource.PropertyMap, key, value string) {
	if value != "" {
		m[resource.PropertyKey(key)] = resource.NewProperty(value)
	}
}

// imageRef accepts the characters an image reference may contain (name, :tag, @digest). It keeps
// the name from reshaping the request path; the daemon does the real parsing.
var imageRef = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$`)

// getRemoteImage reports a local image's ID and repo digest. Despite the upstream name it never
// pulls: this plugin only reads what the daemon already has.
func getRemoteImage(ctx context.Context, c *dockerClient, args resource.PropertyMap) (resource.PropertyMap, error) {
	name, err := requiredString(args, "name")
	if err != nil {
		return nil, err
	}
	if !imageRef.MatchString(name) {
		return nil, argError{checkFailure{"name", fmt.Sprintf("docker provider: %q is not an image reference", name)}}
	}
	var img struct {
		ID          string   `json:"Id"`
		RepoDigests []string `json:"RepoDigests"`
	}
	if err := c.getJSON(ctx, "/images/"+name+"/json", nil, &img); err != nil {
		return nil, err
	}
	return resource.PropertyMap{
		"id":         resource.NewProperty(img.ID),
		"name":       resource.NewProperty(name),
		"repoDigest": resource.NewProperty(pickRepoDigest(name, img.RepoDigests)),
	}, nil
}

// pickRepoDigest chooses the RepoDigests entry for the repository named in ref. A reference that
// carries its own digest wins; an image known only by a local tag has none ("" as upstream
// documents).
func pickRepoDigest(ref string, digests []string) string {
	repo := ref
	if i := strings.Index(repo, "@"); i >= 0 {
		return repoWithoutTag(repo[:i]) + repo[i:]
	}
	repo = repoWithoutTag(repo)
	for _, d := range digests {
		if i := strings.Index(d, "@"); i >= 0 && sameRepo(d[:i], repo) {
			return d
		}
	}
	return ""
}

// repoWithoutTag drops a ":tag" suffix (a colon after the last slash; earlier ones are ports).
func repoWithoutTag(ref string) string {
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i]
	}
	return ref
}

// sameRepo compares repositories, treating Docker Hub's short and long spellings alike.
func sameRepo(a, b string) bool {
	return normalizeRepo(a) == normalizeRepo(b)
}

func normalizeRepo(r string) string {
	r = strings.TrimPrefix(r, "docker.io/")
	r = strings.TrimPrefix(r, "index.docker.io/")
	return strings.TrimPrefix(r, "library/")
}

// getLogs returns a container's log lines. Defaults follow the upstream function: stdout and
// stderr, headers discarded, the list of strings populated.
func getLogs(ctx context.Context, c *dockerClient, args resource.PropertyMap) (resource.PropertyMap, error) {
	name, err := requiredString(args, "name")
	if err != nil {
		return nil, err
	}
	bools := map[string]bool{}
	for key, def := range map[string]bool{
		"details": false, "discardHeaders": true, "follow": false, "logsListStringEnabled": true,
		"showStderr": true, "showStdout": true, "timestamps": false,
	} {
		if bools[key], err = optionalBool(args, key, def); err != nil {
			return nil, err
		}
	}
	strs := map[string]string{}
	for _, key := range []string{"since", "tail", "until"} {
		v, ok, err := optionalString(args, key)
		if err != nil {
			return nil, err
		}
		if ok {
			strs[key] = v
		}
	}

	// The container's TTY setting decides whether the log stream is multiplexed.
	var ct struct {
		ID     string `json:"Id"`
		Config struct {
			Tty bool `json:"Tty"`
		} `json:"Config"`
	}
	cname := url.PathEscape(strings.TrimPrefix(name, "/"))
	if err := c.getJSON(ctx, "/containers/"+cname+"/json", nil, &ct); err != nil {
		return nil, err
	}

	q := url.Values{}
	q.Set("stdout", fmt.Sprint(bools["showStdout"]))
	q.Set("stderr", fmt.Sprint(bools["showStderr"]))
	q.Set("timestamps", fmt.Sprint(bools["timestamps"]))
	q.Set("details", fmt.Sprint(bools["details"]))
	q.Set("follow", fmt.Sprint(bools["follow"]))
	for k, v := range strs {
		q.Set(k, v)
	}
	if !bools["follow"] {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	resp, err := c.do(ctx, http.MethodGet, "/containers/"+cname+"/logs", q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, c.requestError(http.MethodGet, resp.Request.URL.Path, err)
	}
	text := raw
	if !ct.Config.Tty && bools["discardHeaders"] {
		text = demux(raw)
	}

	lines := []resource.PropertyValue{}
	if bools["logsListStringEnabled"] {
		for _, l := range strings.SplitAfter(string(text), "\n") {
			l = strings.TrimSuffix(l, "\n")
			if l != "" {
				lines = append(lines, resource.NewProperty(l))
			}
		}
	}
	out := resource.PropertyMap{
		"id":              resource.NewProperty(ct.ID),
		"name":            resource.NewProperty(name),
		"logsListStrings": resource.NewProperty(lines),
	}
	for k, v := range bools {
		out[resource.PropertyKey(k)] = resource.NewProperty(v)
	}
	for k, v := range strs {
		out[resource.PropertyKey(k)] = resource.NewProperty(v)
	}
	return out, nil
}

// demux strips the 8-byte frame headers of a non-TTY log stream ([stream, 0, 0, 0, size BE32]
// followed by size bytes), concatenating the payloads in order.
func demux(b []byte) []byte {
	var out bytes.Buffer
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b[4:8]))
		b = b[8:]
		if size > len(b) {
			size = len(b)
		}
		out.Write(b[:size])
		b = b[size:]
	}
	return out.Bytes()
}
