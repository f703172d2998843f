/**
 * The docker CLI's environment variables, which the upstream docker provider reads on top of its
 * explicit configuration: it applies DOCKER_HOST, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY after
 * the `host` it is given (the Docker client's FromEnv), and its `context` defaults to
 * DOCKER_CONTEXT, which overrides `host`. A shell that exported the lines `npm start` and
 * `npm run client` print would so point the endpoint checks at another daemon. toolchain/run.sh
 * and the scripts clear them for Pulumi; the program warns when it still sees one (a user who
 * runs `pulumi up` directly).
 */

/** The variables, in the order they are reported. toolchain/run.sh unsets the same list. */
export const DOCKER_CLIENT_VARIABLES = ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"] as const;

/** One warning per docker variable set (non-empty) in `env`, naming it. */
export function dockerEnvWarnings(env: NodeJS.ProcessEnv): string[] {
  return DOCKER_CLIENT_VARIABLES.filter((v) => env[v]).map(
    (v) =>
      `${v} is set (${JSON.stringify(env[v])}): the docker provider of the endpoint checks applies it over each host's ` +
      `own endpoint, so the checks may talk to another daemon or fail. Unset it for Pulumi (npm run pulumi does).`,
  );
}

/** Removes the docker variables from `env` (by default this process's, so that every child inherits that). */
export function clearDockerEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const v of DOCKER_CLIENT_VARIABLES) delete env[v];
}
