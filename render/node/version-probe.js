// The endpoint check's version probe (components/endpointCheck.ts runs it with `node -e` on the
// machine running Pulumi). Reads /version over mutual TLS with Node's own TLS stack: the same
// checks as the docker CLI (the daemon's certificate must chain to ca.pem and name the host; the
// daemon must accept our client certificate). Input on stdin, never on the command line, as JSON:
// {host: "tcp://ADDRESS:PORT", ca, cert, key}. Prints {version, apiVersion, os, arch} as JSON.
const https = require("https");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const c = JSON.parse(input);
  const fail = (message) => {
    console.error(`${c.host}: ${message}`);
    process.exit(1);
  };
  const u = new URL(c.host.replace(/^tcp:/, "https:"));
  const request = https.get(
    // URL keeps an IPv6 address in brackets; a socket wants it bare.
    { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port, path: "/version", ca: c.ca, cert: c.cert, key: c.key, timeout: 15000 },
    (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        if (res.statusCode !== 200) fail(`GET /version: HTTP ${res.statusCode}`);
        const v = JSON.parse(body);
        process.stdout.write(JSON.stringify({ version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch }));
      });
    },
  );
  request.on("timeout", () => request.destroy(new Error("timed out")));
  request.on("error", (e) => fail(e.message));
});
