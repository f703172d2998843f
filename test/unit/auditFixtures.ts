// Test fixtures for the audit: DockerHost manifests read back into the files an audit expects.
// The program builds its expectations from the host's plan (components/hostAudit.ts plannedState);
// tests that start from a rendered manifest use these.
import type { HostConfig } from "../../config";
import { AuditFile, AuditState } from "../../components/audit/compare";
import { auditFiles, plannedState } from "../../components/hostAudit";
import { RESTART_SETTLE_SECONDS, RESTART_WAIT_SECONDS } from "../../config";
import { FileDigest, OWNER, PlanContext, planHost, plannedFiles } from "../../host/plan";

/** Where the unit tests plan hosts: project docker-tls, stack unit. */
export const PLAN_CONTEXT: PlanContext = {
  project: "docker-tls",
  stack: "unit",
  waitSeconds: RESTART_WAIT_SECONDS,
  settleSeconds: RESTART_SETTLE_SECONDS,
};

/** The entries of a DockerHost manifest (`sha256 mode path restart-digest` lines), read back: for tests that build a manifest. */
export function manifestDigests(manifest: string): FileDigest[] {
  const files: FileDigest[] = [];
  for (const line of manifest.split("\n")) {
    const [sha256, mode, path] = line.trim().split(/\s+/);
    if (!sha256 || !mode || !path) continue;
    files.push({ path, mode, owner: OWNER, sha256 });
  }
  return files;
}

/** The files of a DockerHost manifest, as an audit expects them (a view of manifestDigests). */
export function expectedFiles(manifest: string): Record<string, AuditFile> {
  return auditFiles(manifestDigests(manifest));
}

/** The files DockerHost manages on a host of this init kind, sorted: a view of the plan's files. */
export function managedPaths(init: HostConfig["init"]): string[] {
  return plannedFiles(init)
    .map((f) => f.path)
    .sort();
}

/** plannedState of `host`'s plan, with the files a DockerHost manifest lists. */
export function expectedState(host: HostConfig, manifest: string, serverCertSha256: string): AuditState {
  return plannedState(planHost(host, PLAN_CONTEXT), manifestDigests(manifest), serverCertSha256);
}
