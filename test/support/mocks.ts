/** Reading inputs recorded by pulumi.runtime.setMocks (and secrets in `stack export --show-secrets`, same form). */

// How the mock monitor records a secret input.
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export const isSecretInput = (v: unknown) => !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG] === SECRET_SIG;

/** The input with secret wrappers removed. */
export const plain = (v: unknown): unknown => {
  if (isSecretInput(v)) return plain((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};
