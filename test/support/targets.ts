/** The script target of the unit tests' host web1 (render/scripts.ts ScriptTarget), stated once. */
import type { InitKind } from "../../config";
import type { ScriptTarget } from "../../render/scripts";

/** web1 of project docker-tls, stack unit, on port 2376; `over` changes any of it. */
export const scriptTarget = (init: InitKind, over: Partial<ScriptTarget> = {}): ScriptTarget => ({
  host: "web1",
  owner: "docker-tls/unit/web1",
  takeOver: false,
  init,
  restartCommand: init === "custom" ? "rc-service docker restart" : undefined,
  port: 2376,
  waitSeconds: 30,
  settleSeconds: 1,
  tlsConnect: "127.0.0.1:2376",
  serverCert: "/etc/docker/server-cert.pem",
  ...over,
});
