#!/usr/bin/env node
// Builds the HEF native addon (sidecar/native/: generator, encoder, adapter) with node-gyp, against the llama.cpp headers of
// the release node-llama-cpp ships (cloned from its git bundle into node_modules/.cache/) and
// linked against the prebuilt libllama/libggml of the installed @node-llama-cpp/<platform>
// package, so that the addon and node-llama-cpp run on one build and backend.
//
//   node scripts/build-native.mjs [--gpu cpu|cuda|vulkan|metal] [--force] [--quiet] [--check]
//
// Idempotent: when sidecar/native/build/Release/hef_native.node exists and its stamp
// (hef_native.json) matches the sources, headers, libraries and Node, nothing runs.
// --check only reports (exit 0 up to date, 1 stale). Exit code 3 means a required tool is missing;
// the message names it. Environment: HEF_NATIVE_GPU (like --gpu), HEF_LLAMA_BINS (a bins folder to
// link against instead of the package's), NODE_GYP (path to node-gyp.js).
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "sidecar", "native");
const releaseDir = join(nativeDir, "build", "Release");
const addonFile = join(releaseDir, "hef_native.node");
const stampFile = join(releaseDir, "hef_native.json");
// The addon's name until it held more than the generator: a build left there is never loaded, and is removed.
const formerFiles = ["hef_generator.node", "hef_generator.json"].map((name) => join(releaseDir, name));
const MISSING_TOOL = 3;

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && args[i + 1]) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : undefined;
};
const quiet = flag("quiet");
const log = (message) => {
  if (!quiet) console.log(`hef-native: ${message}`);
};

class BuildError extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { encoding: "utf8", ...options });
  if (result.error) {
    if (result.error.code === "ENOENT")
      throw new BuildError(`missing tool: ${command} (not found on PATH)`, MISSING_TOOL);
    throw result.error;
  }
  return result;
}

// --- node-llama-cpp and its prebuilt binaries --------------------------------------------------

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

function nodeLlamaCpp() {
  const dir = join(root, "node_modules", "node-llama-cpp");
  if (!existsSync(join(dir, "package.json"))) throw new BuildError("node-llama-cpp is not installed (run npm install)");
  const version = readJson(join(dir, "package.json")).version;
  const info = readJson(join(dir, "llama", "llama.cpp.info.json"));
  const bundle = join(dir, "llama", "gitRelease.bundle");
  if (!existsSync(bundle))
    throw new BuildError(`${bundle} is missing: node-llama-cpp ${version} ships no llama.cpp source bundle`);
  return { dir, version, tag: info.tag, bundle };
}

function binaryPackageName(gpu) {
  const platform = { linux: "linux", darwin: "mac", win32: "win" }[process.platform];
  if (!platform) throw new BuildError(`unsupported platform ${process.platform}`);
  if (platform === "win") throw new BuildError("the native generator addon is not supported on Windows yet");
  const arch = process.arch === "arm" ? "armv7l" : process.arch;
  if (platform === "mac") return arch === "arm64" ? "mac-arm64-metal" : "mac-x64";
  if (gpu === "cpu") return `linux-${arch}`;
  if (gpu === "cuda" || gpu === "vulkan") return `linux-${arch}-${gpu}`;
  throw new BuildError(`--gpu ${gpu}: expected cpu, cuda, vulkan or metal`);
}

const LIB_PATTERNS = [
  /^libllama(\.v[\w.]+)?\.(so|dylib)$/,
  /^libggml(\.v[\w.]+)?\.(so|dylib)$/,
  /^libggml-base\.(so|dylib)$/,
];

function findLibs(dir) {
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const libs = LIB_PATTERNS.map((pattern) => names.find((name) => pattern.test(name)));
  return libs.every(Boolean) ? libs : undefined;
}

function llamaBins(llama) {
  const override = process.env.HEF_LLAMA_BINS;
  if (override) {
    const dir = resolve(override);
    const libs = findLibs(dir);
    if (!libs) throw new BuildError(`HEF_LLAMA_BINS=${dir} holds no libllama / libggml / libggml-base`);
    return { packageName: "(HEF_LLAMA_BINS)", dir, libs };
  }
  const gpu = option("gpu") ?? process.env.HEF_NATIVE_GPU ?? (process.platform === "darwin" ? "metal" : "cpu");
  const packageName = binaryPackageName(gpu);
  const packageDir = join(root, "node_modules", "@node-llama-cpp", packageName);
  if (!existsSync(join(packageDir, "package.json"))) {
    throw new BuildError(
      `@node-llama-cpp/${packageName} is not installed (node-llama-cpp's prebuilt binaries for --gpu ${gpu})`,
    );
  }
  const packageVersion = readJson(join(packageDir, "package.json")).version;
  if (packageVersion !== llama.version) {
    throw new BuildError(
      `@node-llama-cpp/${packageName} is ${packageVersion}, node-llama-cpp is ${llama.version}; reinstall`,
    );
  }
  const binsRoot = join(packageDir, "bins");
  for (const sub of existsSync(binsRoot) ? readdirSync(binsRoot) : []) {
    const dir = join(binsRoot, sub);
    const libs = statSync(dir).isDirectory() ? findLibs(dir) : undefined;
    if (libs) return { packageName: `@node-llama-cpp/${packageName}`, dir, libs };
  }
  throw new BuildError(`no libllama / libggml / libggml-base under ${binsRoot}`);
}

// --- llama.cpp headers from the bundle ----------------------------------------------------------

function bundleHead(llama) {
  const result = run("git", ["bundle", "list-heads", llama.bundle]);
  if (result.status !== 0)
    throw new BuildError(`git bundle list-heads ${llama.bundle} failed: ${result.stderr.trim()}`);
  const head = result.stdout.split("\n").find((line) => /\sHEAD$/.test(line)) ?? result.stdout.split("\n")[0] ?? "";
  const commit = head.split(/\s/)[0];
  if (!/^[0-9a-f]{40}$/.test(commit ?? "")) throw new BuildError(`cannot read the commit of ${llama.bundle}`);
  return commit;
}

function ensureHeaders(llama, commit) {
  const cacheRoot = join(root, "node_modules", ".cache", "hef-native");
  const dir = join(cacheRoot, `llama.cpp-${llama.tag}-${commit.slice(0, 12)}`);
  if (existsSync(join(dir, "include", "llama.h")) && existsSync(join(dir, "ggml", "include", "gguf.h"))) return dir;
  log(`extracting llama.cpp ${llama.tag} headers from ${relative(root, llama.bundle)}`);
  mkdirSync(cacheRoot, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    let result = run("git", ["clone", "--quiet", "--no-checkout", llama.bundle, tmp]);
    if (result.status !== 0) throw new BuildError(`git clone of ${llama.bundle} failed: ${result.stderr.trim()}`);
    result = run("git", ["-C", tmp, "checkout", "--quiet", commit, "--", "include", "ggml/include"]);
    if (result.status !== 0)
      throw new BuildError(`git checkout of the llama.cpp headers failed: ${result.stderr.trim()}`);
    rmSync(join(tmp, ".git"), { recursive: true, force: true });
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

// --- node-gyp -----------------------------------------------------------------------------------

function findNodeGyp() {
  const candidates = [
    process.env.NODE_GYP,
    join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"),
    process.env.npm_config_node_gyp,
    // npm bundles node-gyp; with a system or nvm Node it sits next to the node binary's prefix.
    join(
      dirname(process.execPath),
      "..",
      "lib",
      "node_modules",
      "npm",
      "node_modules",
      "node-gyp",
      "bin",
      "node-gyp.js",
    ),
    join(dirname(process.execPath), "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) {
    throw new BuildError(
      'missing tool: node-gyp (add the devDependency "node-gyp", or set NODE_GYP to node-gyp.js)',
      MISSING_TOOL,
    );
  }
  return found;
}

/** A Node prefix with include/node/node_api.h for this Node version, so node-gyp downloads nothing. */
function localNodeDir() {
  const prefix = resolve(dirname(process.execPath), "..");
  const versionHeader = join(prefix, "include", "node", "node_version.h");
  if (!existsSync(join(prefix, "include", "node", "node_api.h")) || !existsSync(versionHeader)) return undefined;
  const text = readFileSync(versionHeader, "utf8");
  const part = (name) => text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`))?.[1];
  const version = `${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}`;
  return `v${version}` === process.version ? prefix : undefined;
}

function checkCompiler() {
  const cxx = process.env.CXX ?? (process.platform === "darwin" ? "clang++" : "g++");
  const result = spawnSync(cxx, ["--version"], { encoding: "utf8" });
  if (result.error)
    throw new BuildError(`missing tool: ${cxx} (a C++17 compiler; install build-essential)`, MISSING_TOOL);
  const make = spawnSync("make", ["--version"], { encoding: "utf8" });
  if (make.error) throw new BuildError("missing tool: make (install build-essential)", MISSING_TOOL);
  const python = ["python3", "python"].some((p) => !spawnSync(p, ["--version"]).error);
  if (!python && !process.env.PYTHON)
    throw new BuildError("missing tool: python3 (node-gyp runs gyp with it)", MISSING_TOOL);
}

// --- main -----------------------------------------------------------------------------------------

function sourcesHash() {
  const hash = createHash("sha256");
  for (const name of readdirSync(nativeDir).sort()) {
    if (name === "binding.gyp" || /\.(cpp|cc|h|hpp)$/.test(name))
      hash.update(name).update(readFileSync(join(nativeDir, name)));
  }
  return hash.digest("hex");
}

function main() {
  const started = Date.now();
  const llama = nodeLlamaCpp();
  const bins = llamaBins(llama);
  const commit = bundleHead(llama);
  const libStats = bins.libs.map((name) => {
    const s = statSync(join(bins.dir, name));
    return `${name}:${s.size}:${Math.round(s.mtimeMs)}`;
  });
  const stamp = {
    node: process.versions.modules,
    platform: `${process.platform}-${process.arch}`,
    nodeLlamaCpp: llama.version,
    llamaCpp: `${llama.tag}@${commit}`,
    binaryPackage: bins.packageName,
    binsDir: bins.dir,
    libs: libStats,
    sources: sourcesHash(),
  };
  const current = existsSync(stampFile) ? readFileSync(stampFile, "utf8") : "";
  const upToDate = !flag("force") && existsSync(addonFile) && current === JSON.stringify(stamp, null, 2);
  if (flag("check")) {
    log(upToDate ? "up to date" : "stale or not built");
    return upToDate ? 0 : 1;
  }
  if (upToDate) {
    log(`up to date (${relative(root, addonFile)})`);
    return 0;
  }

  checkCompiler();
  const headers = ensureHeaders(llama, commit);
  const nodeGyp = findNodeGyp();
  const nodeDir = localNodeDir();
  const common = [...(nodeDir ? [`--nodedir=${nodeDir}`] : []), ...(quiet ? ["--silent"] : ["--loglevel=warn"])];
  const defines = [
    `-Dllama_include=${join(headers, "include")}`,
    `-Dggml_include=${join(headers, "ggml", "include")}`,
    `-Dllama_bins=${bins.dir}`,
    `-Dllama_libs=${bins.libs.join(" ")}`,
    `-Dllama_bins_rel=${relative(releaseDir, bins.dir) || "."}`,
  ];
  log(`building against ${bins.packageName} (${bins.dir}), llama.cpp ${llama.tag}`);
  const gyp = (gypArgs) => {
    const result = spawnSync(process.execPath, [nodeGyp, ...gypArgs], {
      cwd: nativeDir,
      stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
    });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new BuildError(`node-gyp ${gypArgs[0]} failed (exit ${result.status})`);
  };
  rmSync(stampFile, { force: true });
  gyp(["configure", ...common, "--", ...defines]);
  gyp(["build", ...common, `--jobs=${Math.max(1, Math.min(4, availableParallelism()))}`]);
  if (!existsSync(addonFile)) throw new BuildError(`node-gyp finished but ${addonFile} is missing`);
  writeFileSync(stampFile, JSON.stringify(stamp, null, 2));
  for (const file of formerFiles) rmSync(file, { force: true });
  log(`built ${relative(root, addonFile)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

try {
  process.exitCode = main();
} catch (error) {
  if (error instanceof BuildError) {
    console.error(`hef-native: ${error.message}`);
    process.exitCode = error.code;
  } else {
    throw error;
  }
}
