/**
 * The drift audit's inspect script (render/sh/inspect.sh behind a quoted prelude), as rendered for
 * the hosts: a snapshot, and no value of the prelude becomes code. It runs on temp files in
 * drift.test.ts.
 */
import { execFileSync } from "child_process";
import { renderInspectScript } from "../../render/scripts";

const FILES = {
  "/etc/docker/server-key.pem": {},
  "/etc/docker/ca.pem": {},
  "/etc/docker/daemon.json": {},
  "/etc/docker/server-cert.pem": {},
  "/etc/systemd/system/docker.service.d/docker-tls.conf": {},
};

test("the rendered inspect script (systemd)", () => {
  expect(renderInspectScript({ init: "systemd", port: 2376, files: FILES })).toMatchSnapshot();
});

test("the prelude of a sysv host: INIT, PORT, STATE and the sorted paths as positional parameters", () => {
  const script = renderInspectScript({ init: "sysv", port: 2377, files: { "/b": {}, "/a": {} } });
  expect(script.split("\n").slice(0, 4)).toEqual(["INIT='sysv'", "PORT='2377'", "STATE='/etc/docker/docker-tls'", "set -- '/a' '/b'"]);
});

test("a path with quotes, spaces and `$(...)` stays one path", () => {
  const odd = "/tmp/it's $(echo no) here";
  const script = renderInspectScript({ init: "custom", port: 1, files: { [odd]: {} } });
  const out = execFileSync("sh", ["-c", script]).toString();
  expect(out.split("\n").find((l) => l.startsWith("file "))).toBe(`file - - - ${odd}`);
});
