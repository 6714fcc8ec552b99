#!/usr/bin/env node
// Packages the extension as a platform-specific .vsix (the extension as it ships), with @vscode/vsce:
//
//   npm run package [-- --out <file.vsix>] [--gpu] [--no-build] [--no-verify] [--json]
//
// 1. builds the bundles (esbuild.config.mjs) and the native addon (scripts/build-native.mjs, a no-op
//    when it is up to date);
// 2. runs `vsce package --target <this platform>`: dist/ bundles, the addon and the production
//    node_modules the bundles import at run time, minus .vscodeignore and the other platforms'
//    llama.cpp/usearch binaries (GPU builds of this platform only with --gpu);
// 3. verifies the package: unzips it to a temp folder and runs the CLI bundle from there (--help,
//    then `hef index` on a copy of samples/shop), and loads the native addon from there.
//
// The .vsix defaults to <root>/hef-code-<target>-<version>.vsix. The last line of output is
// `vsix <path> <bytes>` (or a JSON summary with --json) for scripts that package and go on.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const t0 = Date.now();
const say = (message) => console.log(`package [${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);
const fail = (message) => {
  console.error(`package: ${message}`);
  process.exit(1);
};

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 2 ** 20,
    ...options,
  });
  if (result.error) fail(`${command} ${commandArgs.join(" ")}: ${result.error.message}`);
  return result;
}
function runOrFail(what, command, commandArgs, options) {
  const result = run(command, commandArgs, options);
  if (result.status !== 0) fail(`${what} failed (exit ${result.status}):\n${(result.stdout + result.stderr).trim()}`);
  return result.stdout;
}

// --- target ----------------------------------------------------------------------------------------

/** The vsce target of this machine: win32-x64, linux-arm64, darwin-arm64, alpine-x64, ... */
function hostTarget() {
  const platform = process.platform === "linux" && existsSync("/etc/alpine-release") ? "alpine" : process.platform;
  const arch = process.arch === "arm" ? "armhf" : process.arch;
  const target = `${platform}-${arch}`;
  const known = [
    "win32-x64",
    "win32-arm64",
    "linux-x64",
    "linux-arm64",
    "linux-armhf",
    "darwin-x64",
    "darwin-arm64",
    "alpine-x64",
    "alpine-arm64",
  ];
  if (!known.includes(target)) fail(`no VS Code target for ${target}`);
  return target;
}

/** Lines added to .vscodeignore for this target: binaries of other platforms (and GPU builds unless --gpu). */
function platformIgnores(gpu) {
  const lines = [];
  const llamaPrefix = `${{ win32: "win", darwin: "mac", linux: "linux" }[process.platform] ?? process.platform}-${process.arch}`;
  const keepLlama = (name) =>
    name === llamaPrefix || name === `${llamaPrefix}-metal` || (gpu && name.startsWith(`${llamaPrefix}-`));
  const llamaDir = join(root, "node_modules", "@node-llama-cpp");
  const kept = [];
  for (const name of existsSync(llamaDir) ? readdirSync(llamaDir) : []) {
    if (keepLlama(name)) kept.push(name);
    else lines.push(`node_modules/@node-llama-cpp/${name}/**`);
  }
  if (!kept.includes(llamaPrefix)) fail(`node_modules/@node-llama-cpp/${llamaPrefix} is missing: run npm install`);
  // usearch loads prebuilds/<platform>-<arch>/ (darwin: one universal darwin-arm64+x64 folder)
  const prebuilds = join(root, "node_modules", "usearch", "prebuilds");
  for (const name of existsSync(prebuilds) ? readdirSync(prebuilds) : []) {
    const [platform, archs = ""] = name.split("-");
    if (!(platform === process.platform && archs.split("+").includes(process.arch)))
      lines.push(`node_modules/usearch/prebuilds/${name}/**`);
  }
  // packages npm lists as extraneous (installed by hand, left over): vsce's `npm list --production` would ship them
  const tree = run("npm", ["ls", "--omit=dev", "--parseable", "--all", "--long"], {
    shell: process.platform === "win32",
  }).stdout;
  for (const line of tree.split(/\r?\n/)) {
    const match = /^(.+):[^:]+:EXTRANEOUS$/.exec(line.trim()); // <path>:<name@version>:EXTRANEOUS
    if (match) lines.push(`${relative(root, match[1]).split("\\").join("/")}/**`);
  }
  return { lines, kept };
}

// --- build -----------------------------------------------------------------------------------------

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const target = option("target") ?? hostTarget();
if (target !== hostTarget())
  fail(`--target ${target}: the native addon and binaries can only be packaged for this machine (${hostTarget()})`);
const out = resolve(option("out") ?? join(root, `${manifest.name}-${target}-${manifest.version}.vsix`));
const addon = join(root, "sidecar", "native", "build", "Release", "hef_native.node");

if (!flag("no-build")) {
  say("building bundles and the native addon");
  runOrFail("esbuild", process.execPath, ["esbuild.config.mjs"]);
  const native = run(process.execPath, ["scripts/build-native.mjs", "--quiet"]);
  if (native.status !== 0)
    fail(`native addon build failed (exit ${native.status}):\n${(native.stdout + native.stderr).trim()}`);
}
for (const file of [
  "dist/extension.cjs",
  "dist/hef.mjs",
  relative(root, addon),
  relative(root, addon).replace(/\.node$/, ".json"),
]) {
  if (!existsSync(join(root, file))) fail(`${file} is missing (run npm run build and node scripts/build-native.mjs)`);
}
const addonStamp = JSON.parse(readFileSync(addon.replace(/\.node$/, ".json"), "utf8"));

// --- vsce ------------------------------------------------------------------------------------------

const { lines: extraIgnores, kept } = platformIgnores(flag("gpu"));
if (addonStamp.binaryPackage && !kept.includes(addonStamp.binaryPackage.replace("@node-llama-cpp/", ""))) {
  fail(
    `the native addon links against ${addonStamp.binaryPackage}, which this package would leave out (rebuild it for the CPU, or pass --gpu)`,
  );
}
const work = mkdtempSync(join(tmpdir(), "hef-package-"));
const ignoreFile = join(work, ".vscodeignore");
writeFileSync(
  ignoreFile,
  `${readFileSync(join(root, ".vscodeignore"), "utf8")}\n# added by scripts/package.mjs for ${target}\n${extraIgnores.join("\n")}\n`,
);
rmSync(out, { force: true });
const vsce = join(root, "node_modules", "@vscode", "vsce", "vsce");
if (!existsSync(vsce)) fail("@vscode/vsce is not installed: run npm install (it is a devDependency)");
say(`vsce package --target ${target} (llama.cpp binaries: ${kept.join(", ")})`);
// stdin is closed so that a vsce prompt ("continue? [y/N]") fails at once instead of hanging
runOrFail("vsce package", process.execPath, [
  vsce,
  "package",
  "--target",
  target,
  "--out",
  out,
  "--ignoreFile",
  ignoreFile,
  "--skip-license",
  "--allow-missing-repository",
  "--no-update-package-json",
]);
const bytes = statSync(out).size;
const listing = execFileSync("unzip", ["-Z1", out], { encoding: "utf8", maxBuffer: 64 * 2 ** 20 })
  .trim()
  .split("\n");
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
say(`${relative(root, out) || out}: ${mib(bytes)}, ${listing.length} files`);

// --- verify ----------------------------------------------------------------------------------------

function verify() {
  const unpacked = join(work, "unpacked");
  runOrFail("unzip", "unzip", ["-q", out, "-d", unpacked]);
  const ext = join(unpacked, "extension");
  const cli = join(ext, "dist", "hef.mjs");
  const env = { ...process.env, HEF_CACHE_HOME: join(work, "cache"), NODE_PATH: "" };
  const nodeRun = (what, nodeArgs) => runOrFail(what, process.execPath, nodeArgs, { cwd: work, env });

  const help = nodeRun("hef --help from the package", [cli, "--help"]);
  if (!help.includes("hef index")) fail(`hef --help from the package printed no usage:\n${help}`);
  // the addon finds libllama through its RUNPATH ($ORIGIN/../../../../node_modules/@node-llama-cpp/...)
  const packagedAddon = join(ext, relative(root, addon));
  const exported = nodeRun("loading the native addon from the package", [
    "-e",
    `console.log(Object.keys(require(${JSON.stringify(packagedAddon)})).sort().join(","))`,
  ]).trim();
  if (!exported) fail("the native addon from the package exports nothing");
  if (process.platform === "linux") {
    // it must link the llama.cpp libraries shipped in the package, not the ones of this checkout
    const libllama = runOrFail("ldd", "ldd", [packagedAddon])
      .split("\n")
      .find((l) => l.includes("libllama"));
    if (!libllama?.includes(ext)) fail(`the packaged addon resolves libllama outside the package: ${libllama?.trim()}`);
  }
  // the whole sidecar path the Rebuild command takes: tree-sitter wasm, node-llama-cpp, usearch, default models
  const repo = join(work, "shop");
  cpSync(join(root, "samples", "shop"), repo, {
    recursive: true,
    filter: (p) => !p.includes(".hef-cache") && !p.includes("__pycache__"),
  });
  const report = JSON.parse(nodeRun("hef index from the package", [cli, "index", repo, "--rebuild", "--json"]));
  if (!(report.files > 0 && report.chunks > 0))
    fail(`hef index from the package indexed nothing: ${JSON.stringify(report)}`);
  say(
    `verified from the unpacked package: hef --help, addon (${exported}), hef index samples/shop (${report.files} files, ${report.chunks} chunks, ${report.nodes} nodes in ${report.ms} ms)`,
  );
}

try {
  if (!flag("no-verify")) verify();
} finally {
  rmSync(work, { recursive: true, force: true });
}
const summary = { vsix: out, bytes, files: listing.length, target };
console.log(flag("json") ? JSON.stringify(summary) : `vsix ${out} ${bytes}`);
