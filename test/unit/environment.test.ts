import { DOCKER_CLIENT_VARIABLES, clearDockerEnv, dockerEnvWarnings } from "../../environment";

describe("the docker CLI's variables", () => {
  test("one warning per variable that is set, naming it and its value", () => {
    const w = dockerEnvWarnings({ DOCKER_HOST: "unix:///var/run/docker.sock", DOCKER_CONTEXT: "laptop", PATH: "/bin" });
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/^DOCKER_HOST is set \("unix:\/\/\/var\/run\/docker\.sock"\): /);
    expect(w[1]).toMatch(/^DOCKER_CONTEXT is set \("laptop"\): /);
    for (const line of w) expect(line).toContain("npm run pulumi");
  });

  test("empty or absent variables are not warned about (the docker client ignores them)", () => {
    expect(dockerEnvWarnings({ DOCKER_HOST: "", DOCKER_CONTEXT: "" })).toEqual([]);
    expect(dockerEnvWarnings({})).toEqual([]);
  });

  test("clearDockerEnv removes exactly those variables", () => {
    const env: NodeJS.ProcessEnv = { PATH: "/bin", HOME: "/root" };
    for (const v of DOCKER_CLIENT_VARIABLES) env[v] = "x";
    clearDockerEnv(env);
    expect(env).toEqual({ PATH: "/bin", HOME: "/root" });
  });

  test("run.sh unsets the same list", () => {
    const runSh = require("fs").readFileSync(require("path").join(__dirname, "..", "..", "toolchain", "run.sh"), "utf8") as string;
    const unset = /^unset (.+)$/m.exec(runSh)?.[1].split(/\s+/).sort();
    expect(unset).toEqual([...DOCKER_CLIENT_VARIABLES].sort());
  });
});
