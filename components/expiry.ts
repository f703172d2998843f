/**
 * When certificates expire, said for people: the warnings of `pulumi preview` and `up` (each
 * certificate component warns about its own: ./keys.ts, warnOfExpiry) and the expiry that
 * `npm run drift` reports of the certificate each host serves. Pure: the time is an argument.
 *
 * The windows are those of the tls provider's earlyRenewalHours (its ModifyPlan): a certificate
 * is due for renewal, and reissued by the next `pulumi up`, from `notAfter - renewBeforeHours` on;
 * it is warned about from `notAfter - warnBeforeHours` on (config.ts keeps warnBeforeHours the larger).
 */

/** A certificate to look at. */
export interface CertificateExpiry {
  /** Its component's name (`server-web1`). */
  name: string;
  /** What it is, for people (`server of host web1`). */
  what: string;
  /** Its expiry (RFC 3339), as the tls provider gives it (`validityEndTime`). */
  notAfter: string;
  /** The URN of its tls resource, which `pulumi up --replace` takes to reissue it. */
  urn: string;
  /** The command that reissues it now (rotateCommand); without one, `pulumi up --replace` of `urn`. */
  reissue?: string;
}

/** ok: outside the warning window; warn: inside it; renew: inside the renew-before window too; expired: past notAfter. */
export type ExpiryState = "ok" | "warn" | "renew" | "expired";

/** Where a certificate stands at a given time. */
export interface Expiry {
  state: ExpiryState;
  /** notAfter in UTC, to the second (`2027-01-01T00:00:00Z`). */
  notAfter: string;
  /** When it enters the renew-before window, in the same form. */
  renewFrom: string;
  /** How far off notAfter is: `in 12 days`, `in 5 hours`, `3 days ago`. */
  left: string;
}

const HOUR_MS = 3_600_000;

/** A time as RFC 3339 in UTC to the second, as the tls provider writes validityEndTime. */
export function utcSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** A number of hours for people: whole days as days (`30 days`), otherwise hours (`36 hours`). */
export function hoursInWords(hours: number): string {
  const [n, unit] = hours % 24 === 0 ? [hours / 24, "day"] : [hours, "hour"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** How far `ms` from now is, rounded down: `in 12 days` (two days or more), `in 5 hours`, `in less than an hour`; past: `12 days ago`. */
export function distanceInWords(ms: number): string {
  const hours = Math.floor(Math.abs(ms) / HOUR_MS);
  const amount = hours >= 48 ? hoursInWords(Math.floor(hours / 24) * 24) : hours >= 1 ? hoursInWords(hours) : "less than an hour";
  return ms >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** Where the certificate with `notAfter` (RFC 3339) stands at `now`; undefined when notAfter is not a time. */
export function expiryOf(notAfter: string, now: Date, warnBeforeHours: number, renewBeforeHours: number): Expiry | undefined {
  const end = Date.parse(notAfter);
  if (Number.isNaN(end)) return undefined;
  const t = now.getTime();
  const renewFrom = end - renewBeforeHours * HOUR_MS;
  // As the provider decides it: due for renewal once the renewal time is not in the future.
  const state: ExpiryState = t > end ? "expired" : t >= renewFrom ? "renew" : t >= end - warnBeforeHours * HOUR_MS ? "warn" : "ok";
  return { state, notAfter: utcSeconds(end), renewFrom: utcSeconds(renewFrom), left: distanceInWords(end - t) };
}

/** What `npm run rotate` rotates (scripts/rotate.ts): one host's server certificate, one client's certificate, or the CA. */
export type RotateTarget = { host: string } | { client: string } | "ca";

/** The `npm run rotate` command that reissues `target`'s certificate (with a new key) in `stack` now. */
export function rotateCommand(stack: string, target: RotateTarget): string {
  const which = target === "ca" ? "--ca" : "host" in target ? `--host ${target.host}` : `--client ${target.client}`;
  return `npm run rotate -- --stack ${stack} ${which}`;
}

/**
 * What renews the CA of `generation` in `stack` now: a CA rotation in two phases (README), which no
 * client notices, or `npm run rotate -- --ca`, after which every client needs the new ca.pem.
 */
export function caRenewal(stack: string, generation: number): string {
  return (
    `a CA rotation in two phases (pki.caGeneration ${generation + 1} with pki.trustPreviousCa true, then pulumi up; ` +
    `README, "CA rotation in two phases"), or at once ${rotateCommand(stack, "ca")} (every client then needs the new ca.pem)`
  );
}

/**
 * The command that reissues the certificates of tls resources `urns` now, on `stack` (by default
 * the one the first URN names): for those that `npm run rotate` does not rotate (a client's issuer).
 */
export function replaceCommand(urns: string[], stack = /^urn:pulumi:([^:]+)::/.exec(urns[0] ?? "")?.[1]): string {
  const replace = urns.map((u) => ` --replace '${u.replace(/'/g, `'\\''`)}'`).join("");
  return `npm run pulumi -- up${stack ? ` --stack ${stack}` : ""}${replace}`;
}

/**
 * One warning per certificate that expires within `warnBeforeHours` of `now` (or has expired), in
 * the order given: what it is, when it expires, which `pulumi up` reissues it, and the command that
 * reissues it now.
 *
 * They are said by a run that sees the notAfter, so the certificate is one that this run keeps: the
 * tls provider plans a certificate inside the renew-before window as a replacement, whose notAfter
 * a preview does not know yet (no warning) and an up gives anew. One inside that window that the run
 * still keeps was left out (`--target`), or the provider planned no renewal: the warning says so.
 */
export function expiryWarnings(certs: CertificateExpiry[], now: Date, warnBeforeHours: number, renewBeforeHours: number): string[] {
  const renewWindow = `the renew-before window (${hoursInWords(renewBeforeHours)})`;
  return certs.flatMap((c) => {
    const cert = `certificate ${c.name} (${c.what})`;
    const e = expiryOf(c.notAfter, now, warnBeforeHours, renewBeforeHours);
    if (e === undefined) return [`${cert}: its expiry ${JSON.stringify(c.notAfter)} is not a time`];
    const reissue = c.reissue ?? replaceCommand([c.urn]);
    const kept = `yet this run keeps it; reissue it with: ${reissue}`;
    switch (e.state) {
      case "ok":
        return [];
      case "warn":
        return [
          `${cert} expires ${e.notAfter}, ${e.left}; the first pulumi up after ${e.renewFrom}, inside ${renewWindow}, reissues it (now: ${reissue})`,
        ];
      case "renew":
        return [`${cert} expires ${e.notAfter}, ${e.left}, and is inside ${renewWindow}, ${kept}`];
      case "expired":
        return [`${cert} expired ${e.notAfter}, ${e.left}, ${kept}`];
    }
  });
}
