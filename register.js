// How Pulumi runs this program (Pulumi.yaml: `nodeargs: --require ./register.js`, `typescript: false`).
//
// Pulumi's own TypeScript support runs ts-node, which type-checks every run (8 s of CPU for this
// program) and, even transpile-only, spends about 3 s of a cold V8 in TypeScript's emitter, plus
// a second or so mapping the stack trace that Pulumi captures for every resource. Here instead:
// - Node's compile cache (module.enableCompileCache) keeps the bytecode of every module loaded
//   after this one, the Pulumi SDK included, between runs;
// - `.ts` files are transpiled once per content (TypeScript's transpileModule, the same output as
//   ts-node's transpile-only mode) and kept in a cache keyed by the SHA-256 of the file, the
//   TypeScript version, tsconfig.json and this file, so an edited file is transpiled again and a
//   stale one is never run.
// The type check is `npm run typecheck` (part of `npm test`), not every run.
// Both caches live under node_modules/.cache/docker-tls/, which `npm ci` recreates; deleting it is
// always safe.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");

// DOCKER_TLS_CACHE_DIR moves it (test/unit/register.test.ts uses a folder of its own).
const cacheRoot = process.env.DOCKER_TLS_CACHE_DIR || path.join(__dirname, "node_modules", ".cache", "docker-tls");
if (typeof Module.enableCompileCache === "function") Module.enableCompileCache(path.join(cacheRoot, "v8"));

const transpiledDir = path.join(cacheRoot, "transpiled");
let typescript;
let options;

/** The compiler options of tsconfig.json, as transpileModule takes them (loaded with TypeScript, on the first cache miss). */
function compilerOptions(ts) {
  const file = path.join(__dirname, "tsconfig.json");
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(file, ts.sys.readFile).config, ts.sys, __dirname);
  return { ...parsed.options, noEmit: false, sourceMap: false, inlineSourceMap: false, declaration: false };
}

let transpiler;

/** The key of a file's transpiled form: its content, and what transpiles it (TypeScript's version, tsconfig.json, this file). */
function cacheKey(source) {
  transpiler ??= [
    require("typescript/package.json").version,
    fs.readFileSync(path.join(__dirname, "tsconfig.json"), "utf8"),
    fs.readFileSync(__filename, "utf8"),
  ].join("\0");
  return crypto.createHash("sha256").update(`${transpiler}\0${source}`).digest("hex");
}

function transpile(source, filename) {
  const cached = path.join(transpiledDir, `${cacheKey(source)}.js`);
  try {
    return fs.readFileSync(cached, "utf8");
  } catch {
    // not transpiled yet
  }
  typescript ??= require("typescript");
  options ??= compilerOptions(typescript);
  const out = typescript.transpileModule(source, { compilerOptions: options, fileName: filename, reportDiagnostics: false }).outputText;
  fs.mkdirSync(transpiledDir, { recursive: true });
  // Written aside and renamed: two runs at once never read half a file.
  const tmp = `${cached}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, cached);
  return out;
}

let first = true;

Module._extensions[".ts"] = function (module, filename) {
  if (first) {
    first = false;
    // Pulumi's run harness (loaded after this file, before the program) installs source-map-support,
    // which then maps every stack trace Pulumi captures, one per promise and per resource: about
    // 0.8 s of CPU for this program. The transpiled files carry no source map, so for them it finds
    // nothing, and V8's own formatting gives the same "at fn (file:line:column)" text Pulumi parses.
    if (Error.prepareStackTrace && Error.prepareStackTrace.name === "prepareStackTrace") Error.prepareStackTrace = undefined;
  }
  module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
};
