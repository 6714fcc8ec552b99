// Creates (or brings up to date) the project-local Python environment for training, .venv/, from
// training/requirements.txt (pinned, installed from the local wheel mirror it names) and installs
// the training package into it in editable mode. Idempotent: a stamp of the requirements skips the
// install when nothing changed. Python is needed to train, never to index or complete.
//
//   node scripts/setup-training.mjs [--quiet] [--check]
//
// --check only says whether the environment is ready (exit 0) or not (exit 1).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const venv = join(root, ".venv");
const python = join(venv, "bin", "python");
const requirements = join(root, "training", "requirements.txt");
const stampPath = join(venv, "hef-training.stamp");
const quiet = process.argv.includes("--quiet");
const say = (message) => quiet || process.stderr.write(`${message}\n`);

function stamp() {
  return createHash("sha256")
    .update(readFileSync(requirements))
    .update(readFileSync(join(root, "training", "pyproject.toml")))
    .digest("hex");
}

function ready() {
  return existsSync(python) && existsSync(stampPath) && readFileSync(stampPath, "utf8") === stamp();
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit", cwd: root });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}`);
}

if (process.argv.includes("--check")) process.exit(ready() ? 0 : 1);
if (ready()) {
  say("training environment up to date (.venv)");
  process.exit(0);
}
const basePython = process.env.HEF_PYTHON ?? "python3";
const version = spawnSync(basePython, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], {
  encoding: "utf8",
});
if (version.status !== 0) {
  process.stderr.write(`setup-training: ${basePython} not found; install Python 3.11 or newer, or set HEF_PYTHON\n`);
  process.exit(3);
}
const [major, minor] = version.stdout.trim().split(".").map(Number);
if (major < 3 || (major === 3 && minor < 11)) {
  process.stderr.write(
    `setup-training: ${basePython} is Python ${version.stdout.trim()}; training needs 3.11 or newer (set HEF_PYTHON)\n`,
  );
  process.exit(3);
}
try {
  say(`creating .venv with ${basePython} ${version.stdout.trim()}`);
  if (!existsSync(python)) run(basePython, ["-m", "venv", venv]);
  // The requirements file names the mirror as --index-url: the public index is never asked.
  run(python, ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", requirements]);
  run(python, [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "-q",
    "--no-deps",
    "--no-build-isolation",
    "-e",
    join(root, "training"),
  ]);
  writeFileSync(stampPath, stamp());
  say("training environment ready (.venv)");
} catch (error) {
  process.stderr.write(`setup-training: ${error.message}\n`);
  process.exit(1);
}
