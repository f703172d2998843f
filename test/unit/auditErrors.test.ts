/** A failure inside HostAudit's applies is a pulumi.ResourceError on the audit, its stack hidden. */
import * as pulumi from "@pulumi/pulumi";
import { auditPlannedState } from "../../components/hostAudit";
import { PLAN_CONTEXT, manifestDigests } from "./auditFixtures";
import { planHost } from "../../host/plan";
import { testHost } from "../support/config";

test("files that are not the planned ones: a ResourceError on the audit, stack hidden", () => {
  const host = testHost();
  const audit = { urn: "urn:pulumi:s::p::dockertls:host:HostAudit::audit-web1" } as unknown as pulumi.Resource;
  let thrown: unknown;
  try {
    auditPlannedState(planHost(host, PLAN_CONTEXT), manifestDigests("abc 444 /etc/docker/ca.pem\n"), "AB:CD", audit);
  } catch (e) {
    thrown = e;
  }
  expect(pulumi.ResourceError.isInstance(thrown)).toBe(true);
  const err = thrown as pulumi.ResourceError;
  expect(err.resource).toBe(audit);
  expect(err.hideStack).toBe(true);
  expect(err.message).toMatch(/^host web1: the manifest lists \/etc\/docker\/ca\.pem; the audit expects /);
});
