/**
 * Certificate expiry for people: where a certificate stands against the warning and renew-before
 * windows, and the warnings that preview and up log (components/expiry.ts).
 */
import fc from "fast-check";
import {
  distanceInWords,
  expiryOf,
  expiryWarnings,
  hoursInWords,
  replaceCommand,
  rotateCommand,
  utcSeconds,
} from "../../components/expiry";

const HOUR = 3_600_000;
const NOW = new Date("2026-12-20T00:00:00Z");
const at = (hoursFromNow: number) => utcSeconds(NOW.getTime() + hoursFromNow * HOUR);
const urn = (type: string, name: string) => `urn:pulumi:prod::docker-tls::${type}::${name}`;
const SERVER_URN = urn("dockertls:pki:ServerCertificate$tls:index/locallySignedCert:LocallySignedCert", "server-web1-cert");
const ROTATE_WEB1 = "npm run rotate -- --stack prod --host web1";
const server = (notAfter: string) => ({
  name: "server-web1",
  what: "server of host web1",
  notAfter,
  urn: SERVER_URN,
  reissue: ROTATE_WEB1,
});

describe("where a certificate stands", () => {
  test("outside the warning window; inside it; inside the renew-before window; expired", () => {
    expect(expiryOf(at(1441), NOW, 1440, 720)).toMatchObject({ state: "ok", left: "in 60 days" });
    expect(expiryOf(at(1440), NOW, 1440, 720)).toMatchObject({ state: "warn", renewFrom: at(720) });
    expect(expiryOf(at(721), NOW, 1440, 720)).toMatchObject({ state: "warn", left: "in 30 days" });
    // The provider's boundary: due once the renewal time is not in the future.
    expect(expiryOf(at(720), NOW, 1440, 720)).toMatchObject({ state: "renew", renewFrom: utcSeconds(NOW.getTime()) });
    expect(expiryOf(at(0), NOW, 1440, 720)).toMatchObject({ state: "renew", left: "in less than an hour" });
    expect(expiryOf(at(-1), NOW, 1440, 720)).toMatchObject({ state: "expired", left: "1 hour ago" });
  });

  test("notAfter as the tls provider writes it (RFC 3339, fractions, offsets) comes out in UTC to the second", () => {
    expect(expiryOf("2027-01-01T01:30:00.750041+01:30", NOW, 1440, 720)?.notAfter).toBe("2027-01-01T00:00:00Z");
    expect(expiryOf("2027-01-01T00:00:00Z", NOW, 1440, 720)).toEqual({
      state: "renew",
      notAfter: "2027-01-01T00:00:00Z",
      renewFrom: "2026-12-02T00:00:00Z",
      left: "in 12 days",
    });
    expect(expiryOf("soon", NOW, 1440, 720)).toBeUndefined();
  });

  test("durations in words, rounded down", () => {
    expect([hoursInWords(720), hoursInWords(36), hoursInWords(24), hoursInWords(1)]).toEqual(["30 days", "36 hours", "1 day", "1 hour"]);
    expect([47, 48, 71.9, 2, 1.5, 0.5].map((h) => distanceInWords(h * HOUR))).toEqual([
      "in 47 hours",
      "in 2 days",
      "in 2 days",
      "in 2 hours",
      "in 1 hour",
      "in less than an hour",
    ]);
    expect(distanceInWords(-12.5 * 24 * HOUR)).toBe("12 days ago");
  });
});

describe("the warnings of preview and up", () => {
  test("one per certificate inside the warning window, in the order given, each saying which pulumi up reissues it", () => {
    const ca = urn("dockertls:pki:CertificateAuthority$tls:index/selfSignedCert:SelfSignedCert", "ca-cert");
    const client = urn("dockertls:pki:ClientCertificate$tls:index/locallySignedCert:LocallySignedCert", "client-ci-cert");
    const issuer = urn(
      "dockertls:pki:ClientCertificate$dockertls:pki:CertificateAuthority$tls:index/selfSignedCert:SelfSignedCert",
      "client-ci-issuer-cert",
    );
    const certs = [
      { name: "ca", what: "the CA", notAfter: at(87000), urn: ca },
      server(at(45 * 24)),
      {
        name: "client-ci",
        what: "client ci",
        notAfter: "2027-01-01T00:00:00Z",
        urn: client,
        reissue: "npm run rotate -- --stack prod --client ci",
      },
      { name: "client-ci-issuer", what: "issuer of client ci", notAfter: at(-72), urn: issuer },
    ];
    expect(expiryWarnings(certs, NOW, 1440, 720)).toEqual([
      "certificate server-web1 (server of host web1) expires 2027-02-03T00:00:00Z, in 45 days; " +
        `the first pulumi up after 2027-01-04T00:00:00Z, inside the renew-before window (30 days), reissues it (now: ${ROTATE_WEB1})`,
      "certificate client-ci (client ci) expires 2027-01-01T00:00:00Z, in 12 days, and is inside the renew-before window (30 days), " +
        "yet this run keeps it; reissue it with: npm run rotate -- --stack prod --client ci",
      "certificate client-ci-issuer (issuer of client ci) expired 2026-12-17T00:00:00Z, 3 days ago, " +
        `yet this run keeps it; reissue it with: npm run pulumi -- up --stack prod --replace '${issuer}'`,
    ]);
  });

  test("a certificate without a command of its own (a client's issuer, which rotate keeps) is reissued by --replace", () => {
    expect(expiryWarnings([{ ...server(at(100)), reissue: undefined }], NOW, 1440, 720)).toEqual([
      "certificate server-web1 (server of host web1) expires 2026-12-24T04:00:00Z, in 4 days, and is inside the renew-before window (30 days), " +
        `yet this run keeps it; reissue it with: npm run pulumi -- up --stack prod --replace '${SERVER_URN}'`,
    ]);
  });

  test("the rotate command of a host, a client, the CA", () => {
    expect(rotateCommand("prod", { host: "web1" })).toBe(ROTATE_WEB1);
    expect(rotateCommand("prod", { client: "docker-tls-check" })).toBe("npm run rotate -- --stack prod --client docker-tls-check");
    expect(rotateCommand("acme/prod", "ca")).toBe("npm run rotate -- --stack acme/prod --ca");
  });

  test("the command that reissues certificates now: on the URN's stack or the one given, each URN quoted for sh", () => {
    expect(replaceCommand([SERVER_URN])).toBe(`npm run pulumi -- up --stack prod --replace '${SERVER_URN}'`);
    // Stack names are plain words; a quote in the rest of the URN reaches pulumi intact.
    expect(replaceCommand(["urn:pulumi:dev::p::t::it's"])).toBe(
      `npm run pulumi -- up --stack dev --replace 'urn:pulumi:dev::p::t::it'\\''s'`,
    );
    expect(replaceCommand(["not-a-urn"])).toBe("npm run pulumi -- up --replace 'not-a-urn'");
    expect(replaceCommand(["urn:pulumi:dev::p::t::a", "urn:pulumi:dev::p::t::b"], "acme/dev")).toBe(
      "npm run pulumi -- up --stack acme/dev --replace 'urn:pulumi:dev::p::t::a' --replace 'urn:pulumi:dev::p::t::b'",
    );
  });

  test("nothing to say: no certificates, all far off; a notAfter that is not a time is said", () => {
    expect(expiryWarnings([], NOW, 1440, 720)).toEqual([]);
    expect(expiryWarnings([server(at(2000))], NOW, 1440, 720)).toEqual([]);
    expect(expiryWarnings([server("")], NOW, 1440, 720)).toEqual([
      'certificate server-web1 (server of host web1): its expiry "" is not a time',
    ]);
  });

  // Any time, any windows (warning larger than renew-before), any notAfter within a few years of now.
  const windows = fc
    .record({ renew: fc.integer({ min: 1, max: 5000 }), extra: fc.integer({ min: 1, max: 5000 }) })
    .map(({ renew, extra }) => ({ renew, warn: renew + extra }));
  const now = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2090-01-01T00:00:00Z"), noInvalidDate: true });
  const offsetSeconds = fc.integer({ min: -3 * 8760 * 3600, max: 3 * 8760 * 3600 });

  test("property: a warning exactly when notAfter is within the warning window (or past), naming the certificate and its notAfter", () => {
    fc.assert(
      fc.property(windows, now, offsetSeconds, ({ renew, warn }, t, offset) => {
        const notAfter = utcSeconds(t.getTime() + offset * 1000);
        const warnings = expiryWarnings([server(notAfter)], t, warn, renew);
        const end = Date.parse(notAfter);
        expect(warnings).toHaveLength(end - t.getTime() <= warn * HOUR ? 1 : 0);
        for (const w of warnings) {
          expect(w).toMatch(/^certificate server-web1 \(server of host web1\) expire[sd] /);
          expect(w).toContain(notAfter);
          expect(w).not.toContain("\n");
          expect(w.endsWith(`reissues it (now: ${ROTATE_WEB1})`) || w.endsWith(`reissue it with: ${ROTATE_WEB1}`)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("property: outside the renew-before window, the reissuing up is the first after notAfter - renewBeforeHours, still to come", () => {
    fc.assert(
      fc.property(windows, now, offsetSeconds, ({ renew, warn }, t, offset) => {
        const notAfter = utcSeconds(t.getTime() + offset * 1000);
        const e = expiryOf(notAfter, t, warn, renew)!;
        expect(Date.parse(e.notAfter) - Date.parse(e.renewFrom)).toBe(renew * HOUR);
        const [w] = expiryWarnings([server(notAfter)], t, warn, renew);
        if (e.state === "warn") {
          expect(Date.parse(e.renewFrom)).toBeGreaterThan(t.getTime());
          expect(w).toContain(`the first pulumi up after ${e.renewFrom}`);
        } else if (e.state === "renew" || e.state === "expired") {
          expect(Date.parse(e.renewFrom)).toBeLessThanOrEqual(t.getTime());
          expect(w).toContain(`yet this run keeps it; reissue it with: ${ROTATE_WEB1}`);
        } else {
          expect(w).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });
});
