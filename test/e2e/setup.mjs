#!/usr/bin/env node
// One-time, idempotent setup of the real-editor tests: Debian's Chromium (plus the headers and the
// ripgrep binary that code-server's install needs) and this folder's node_modules (code-server
// 4.100.3 = VS Code 1.100.3, playwright-core). Needs root with apt-get and the npm registry; nothing
// else is reached (code-server's own downloads from GitHub are replaced by local files).
//
//   node test/e2e/setup.mjs [--check]
//
// Does only what is missing: apt-get when /usr/bin/chromium (or, for an install, rg / the Kerberos
// headers) is missing; `npm ci` when node_modules is missing or stale (its stamp records the hash of
// package.json + package-lock.json and the Node ABI the native addons were built for).
// --check changes nothing and reports what a run would do.
// Exit codes: 0 ready; 1 a step failed; 2 setup is impossible here (no apt-get or not root, no
// network to the apt repositories or the npm registry); the last line of output says why.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = "/usr/bin/chromium";
const STAMP = join(E2E_DIR, "node_modules", ".hef-e2e-stamp.json");
const CODE_SERVER_BIN = join(E2E_DIR, "node_modules", ".bin", "code-server");
// code-server 4.100.3's lib/vscode pins @vscode/ripgrep 1.15.11, which downloads rg release v13.0.0-10
// from GitHub in its postinstall unless this file is already in its cache. Recheck on a code-server bump.
const RIPGREP_PACKAGE_VERSION = "1.15.11";
const RIPGREP_TAG = "v13.0.0-10";
const RIPGREP_TARGET = { x64: "x86_64-unknown-linux-musl", arm64: "aarch64-unknown-linux-musl" }[process.arch];

const IMPOSSIBLE = 2;
class SetupError extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

const t0 = Date.now();
const say = (message) => console.log(`e2e-setup [${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 256 * 2 ** 20,
    ...options,
  });
  if (result.error?.code === "ENOENT") throw new SetupError(`${command} is not installed`, IMPOSSIBLE);
  if (result.error) throw result.error;
  return result;
}
const tail = (text, lines = 40) => text.trim().split("\n").slice(-lines).join("\n");
const which = (name) => run("sh", ["-c", `command -v ${name}`]).stdout.trim() || undefined;

/** Hash of what node_modules was installed from, with the Node ABI its native addons were built for. */
function wantedStamp() {
  const hash = createHash("sha256");
  for (const file of ["package.json", "package-lock.json"]) {
    const path = join(E2E_DIR, file);
    hash.update(file).update(existsSync(path) ? readFileSync(path) : "");
  }
  return {
    inputs: hash.digest("hex"),
    modules: process.versions.modules,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function nodeModulesState() {
  if (!existsSync(CODE_SERVER_BIN) || !existsSync(join(E2E_DIR, "node_modules", "playwright-core", "package.json")))
    return "missing";
  if (!existsSync(STAMP)) return "stale";
  try {
    const have = JSON.parse(readFileSync(STAMP, "utf8"));
    const want = wantedStamp();
    return Object.keys(want).every((k) => have[k] === want[k]) ? "fresh" : "stale";
  } catch {
    return "stale";
  }
}

const hasKerberosHeaders = () => ["/usr/include/gssapi/gssapi.h", "/usr/include/gssapi.h"].some(existsSync);

function aptInstall() {
  if (process.platform !== "linux" || !which("apt-get")) {
    throw new SetupError(
      "no apt-get here: install Chromium (as /usr/bin/chromium), ripgrep and the Kerberos headers (libkrb5-dev) yourself, or set HEF_SKIP_REAL_EDITOR=1",
      IMPOSSIBLE,
    );
  }
  if (process.getuid?.() !== 0)
    throw new SetupError(
      "apt-get needs root: run `sudo apt-get install chromium libkrb5-dev ripgrep`, or set HEF_SKIP_REAL_EDITOR=1",
      IMPOSSIBLE,
    );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  say("apt-get install chromium libkrb5-dev ripgrep");
  const update = run("apt-get", ["update", "-qq", "-o", "Acquire::Retries=1", "-o", "Acquire::http::Timeout=20"], {
    env,
    timeout: 180_000,
  });
  if (update.status !== 0 || /^(W|E): (Failed to fetch|Some index files failed)/m.test(update.stderr)) {
    // A failed update still leaves older lists; only give up if the install below fails too.
    say(`apt-get update had problems:\n${tail(update.stderr, 10)}`);
  }
  const install = run("apt-get", ["install", "-y", "-qq", "chromium", "libkrb5-dev", "ripgrep"], {
    env,
    timeout: 600_000,
  });
  if (install.status !== 0) {
    const offline = /Could not resolve|Temporary failure|Unable to locate package|Failed to fetch|Unable to fetch/.test(
      install.stderr + update.stderr,
    );
    throw new SetupError(
      `apt-get install chromium libkrb5-dev ripgrep failed${offline ? " (no network to the apt repositories?)" : ""}:\n${tail(install.stderr + install.stdout, 15)}`,
      offline ? IMPOSSIBLE : 1,
    );
  }
  if (!existsSync(CHROMIUM)) throw new SetupError(`apt-get installed chromium but ${CHROMIUM} is missing`);
}

/** Puts Debian's rg where @vscode/ripgrep's postinstall looks before downloading from GitHub. */
function seedRipgrepCache(env) {
  const rg = which("rg");
  if (!rg) throw new SetupError("ripgrep (rg) is missing: code-server's install would download it from GitHub");
  if (!RIPGREP_TARGET) return say(`no ripgrep cache seed for ${process.arch}: @vscode/ripgrep will try GitHub`);
  const cache = join(env.TMPDIR || tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const archive = join(cache, `ripgrep-${RIPGREP_TAG}-${RIPGREP_TARGET}.tar.gz`);
  if (existsSync(archive)) return;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(tmpdir(), "hef-rg-"));
  try {
    copyFileSync(rg, join(staging, "rg"));
    const tar = run("tar", ["czf", archive, "-C", staging, "rg"]);
    if (tar.status !== 0) throw new SetupError(`could not write ${archive}: ${tar.stderr}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function registryReachable(env) {
  const registry =
    run("npm", ["config", "get", "registry"], { env, cwd: E2E_DIR }).stdout.trim() || "https://registry.npmjs.org/";
  try {
    const response = await fetch(new URL("code-server", registry), {
      method: "HEAD",
      signal: AbortSignal.timeout(15_000),
    });
    return response.status < 500;
  } catch {
    return false;
  }
}

async function npmInstall() {
  const env = {
    ...process.env,
    // code-server's postinstall refuses to run as root without unsafe-perm; node-pty's postinstall runs
    // `npx node-gyp`, which npx refuses without `yes` when node-gyp is not cached.
    npm_config_unsafe_perm: "true",
    npm_config_yes: "true",
    npm_config_fund: "false",
    npm_config_audit: "false",
    npm_config_update_notifier: "false",
    npm_config_fetch_retries: "1",
    npm_config_fetch_timeout: "60000",
  };
  seedRipgrepCache(env);
  const online = await registryReachable(env);
  const lock = existsSync(join(E2E_DIR, "package-lock.json"));
  const args = [lock ? "ci" : "install", "--foreground-scripts", "--no-audit", "--no-fund"];
  if (!online) args.push("--offline"); // everything may still be in the npm cache
  say(`npm ${args.join(" ")} in ${E2E_DIR}${online ? "" : " (registry unreachable: trying the npm cache)"}`);
  const result = run("npm", args, { env, cwd: E2E_DIR, timeout: 900_000 });
  if (result.status !== 0) {
    const output = tail(result.stdout + result.stderr, 30);
    if (!online)
      throw new SetupError(
        `the npm registry is unreachable and the npm cache lacks packages for test/e2e:\n${output}`,
        IMPOSSIBLE,
      );
    throw new SetupError(`npm ${args[0]} in test/e2e failed:\n${output}`);
  }
  writeFileSync(STAMP, JSON.stringify(wantedStamp(), null, 2) + "\n");
  const version = JSON.parse(
    readFileSync(join(E2E_DIR, "node_modules", "code-server", "package.json"), "utf8"),
  ).version;
  say(`code-server ${version} installed`);
}

export async function setup({ check = false } = {}) {
  const modules = nodeModulesState();
  const needApt = !existsSync(CHROMIUM) || (modules !== "fresh" && (!which("rg") || !hasKerberosHeaders()));
  if (check) {
    say(`chromium: ${existsSync(CHROMIUM) ? "present" : "missing"}; test/e2e/node_modules: ${modules}`);
    return needApt || modules !== "fresh" ? 1 : 0;
  }
  if (needApt) aptInstall();
  if (modules !== "fresh") {
    say(`test/e2e/node_modules is ${modules}`);
    await npmInstall();
  }
  say("ready");
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await setup({ check: process.argv.includes("--check") });
  } catch (error) {
    const code = error instanceof SetupError ? error.code : 1;
    console.error(`e2e-setup: ${code === IMPOSSIBLE ? "setup is impossible here: " : "failed: "}${error.message}`);
    process.exitCode = code;
  }
}
