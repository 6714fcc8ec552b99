// Runs every test: the training package's with pytest (in the project's .venv, made first when
// missing), then every test file under test/ with node's own test runner (Node 20 has no glob for
// --test). Arguments filter both by path substring: `node scripts/test.mjs training/tests/test_corpus`.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function findFiles(dir, suffix, skip) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return skip.includes(entry.name) ? [] : findFiles(path, suffix, skip);
    return suffix(entry.name) ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const wanted = (f) => filter.length === 0 || filter.some((s) => f.includes(s));
// test/e2e keeps its own node_modules (the editor under test): not ours to run.
const nodeTests = findFiles("test", (name) => name.endsWith(".test.ts"), ["node_modules"]).filter(wanted);
const pythonTests = findFiles(join("training", "tests"), (name) => name.startsWith("test_") && name.endsWith(".py"), [
  "__pycache__",
  "fixtures",
]).filter(wanted);

let status = 0;
if (pythonTests.length > 0) {
  // Without the training environment the Python tests fail the run, and the Node tests still run.
  const setup = spawnSync(process.execPath, ["scripts/setup-training.mjs", "--quiet"], { stdio: "inherit" });
  const pytest =
    setup.status === 0
      ? spawnSync(join(".venv", "bin", "python"), ["-m", "pytest", "-q", ...pythonTests], { stdio: "inherit" })
      : setup;
  status = pytest.status ?? 1;
}
if (nodeTests.length > 0) {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...nodeTests],
    { stdio: "inherit" },
  );
  status ||= result.status ?? 1;
}
process.exit(status);
