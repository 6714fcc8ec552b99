// The extension as it ships, in a real editor: sets up code-server + Chromium (once, idempotently),
// packages the .vsix with `npm run package`, installs it into a fresh code-server and drives the
// scenarios of test/e2e/scenarios.mjs. Screenshots and results.json land in test/out/e2e/. It passes
// only when every scenario of scenarios.mjs ran and passed, except those named in its PENDING list
// (the explicit opt-out, empty when every scenario is switched on).
//
// When the setup is impossible here (no apt-get / not root, no network to apt or npm) this test fails
// and says why; HEF_SKIP_REAL_EDITOR=1 skips it instead (the check of the verdict itself still runs).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const e2eDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(e2eDir, "..", "..");
const outDir = join(root, "test", "out");
const shotsDir = join(outDir, "e2e");
const vsix = join(outDir, "hef-code-e2e.vsix");
const SETUP_IMPOSSIBLE = 2;

interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** Runs a command to completion, keeping its output (stdout and stderr interleaved). */
function run(command: string, args: string[], timeoutMs: number): Promise<Run> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CI: "true" },
    });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs / 1000} s]`;
      child.kill("SIGTERM");
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output, ms: Date.now() - started });
    });
  });
}

const tail = (text: string, lines = 60) => text.trimEnd().split("\n").slice(-lines).join("\n");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface ScenarioResult {
  name: string;
  status: string;
  reason?: string;
  error?: string;
  ms?: number;
}

interface Results {
  ms: number;
  screenshots: string[];
  results: ScenarioResult[];
}

/** scenarios.mjs: the scenario list and the names opted out of the run (plain JavaScript, so typed here). */
async function scenarioList(): Promise<{ names: string[]; pending: ReadonlySet<string> }> {
  const module = (await import(pathToFileURL(join(e2eDir, "scenarios.mjs")).href)) as {
    scenarios: { name: string }[];
    PENDING: ReadonlySet<string>;
  };
  return { names: module.scenarios.map((s) => s.name), pending: module.PENDING };
}

const firstLine = (text: string) => text.split("\n")[0];

/**
 * What keeps a run from passing, one line each: a scenario not in PENDING that did not run and pass
 * (failed, not run, pending, skipped, or no result at all), a result or a PENDING entry that names
 * no scenario (renamed?), a name used twice. Empty when the run passed.
 */
function scenarioProblems(
  names: readonly string[],
  pending: ReadonlySet<string>,
  results: readonly ScenarioResult[],
): string[] {
  const problems: string[] = [];
  const known = new Set(names);
  const outcome = ({ status, reason, error }: ScenarioResult) =>
    `${status}${reason ? ` — ${reason}` : ""}${error ? ` — ${firstLine(error)}` : ""}`;
  for (const name of known)
    if (names.indexOf(name) !== names.lastIndexOf(name)) problems.push(`${name}: two scenarios have this name`);
  for (const name of pending)
    if (!known.has(name)) problems.push(`${name}: listed in PENDING but no scenario has this name (renamed?)`);
  for (const r of results)
    if (!known.has(r.name)) problems.push(`${r.name}: ${outcome(r)} (no scenario has this name)`);
  for (const name of known) {
    if (pending.has(name)) continue;
    const result = results.filter((r) => r.name === name);
    if (result.length !== 1)
      problems.push(`${name}: ${result.length === 0 ? "no result: it did not run" : `${result.length} results`}`);
    else if (result[0]!.status !== "passed") problems.push(`${name}: ${outcome(result[0]!)}`);
  }
  return problems;
}

test("the real-editor verdict: every scenario not in PENDING must run and pass", async () => {
  const names = ["workbench", "indexing", "rebuild-cache"];
  const passed = (name: string): ScenarioResult => ({ name, status: "passed", ms: 1 });
  assert.deepEqual(scenarioProblems(names, new Set(), names.map(passed)), []);
  assert.deepEqual(
    scenarioProblems(names, new Set(), [
      passed("workbench"),
      { name: "indexing", status: "pending", reason: "pending: needs command:HEF: Rebuild" },
    ]),
    ["indexing: pending — pending: needs command:HEF: Rebuild", "rebuild-cache: no result: it did not run"],
  );
  assert.deepEqual(
    scenarioProblems(names, new Set(), [
      passed("workbench"),
      passed("indexing"),
      { name: "rebuild-cache", status: "not-run" },
      { name: "harness", status: "failed", error: "Error: boom\n  at x" },
    ]),
    ["harness: failed — Error: boom (no scenario has this name)", "rebuild-cache: not-run"],
  );
  assert.deepEqual(
    scenarioProblems(names, new Set(["indexing"]), [
      passed("workbench"),
      { name: "indexing", status: "pending" },
      passed("rebuild-cache"),
    ]),
    [],
    "PENDING opts a scenario out",
  );
  assert.deepEqual(scenarioProblems(names, new Set(["index"]), names.map(passed)), [
    "index: listed in PENDING but no scenario has this name (renamed?)",
  ]);
  assert.deepEqual(scenarioProblems([...names, "indexing"], new Set(), names.map(passed)), [
    "indexing: two scenarios have this name",
  ]);
  // The real list as run.mjs reads it.
  const { names: real, pending } = await scenarioList();
  assert.ok(real.includes("rebuild-cache") && real.length > 5, `scenarios.mjs lists ${real.join(", ")}`);
  assert.deepEqual(scenarioProblems(real, pending, [...real.filter((n) => !pending.has(n)).map(passed)]), []);
});

test("the packaged extension in a real editor (code-server + Chromium)", { timeout: 14 * 60_000 }, async (t) => {
  if (process.env.HEF_SKIP_REAL_EDITOR === "1") {
    t.skip(
      "HEF_SKIP_REAL_EDITOR=1: the real-editor test is skipped (it needs Chromium and test/e2e's code-server: node test/e2e/setup.mjs)",
    );
    return;
  }
  mkdirSync(outDir, { recursive: true });

  // 1. setup: apt-get and npm ci only when something is missing or stale
  const setup = await run(process.execPath, [join(e2eDir, "setup.mjs")], 15 * 60_000);
  if (setup.code === SETUP_IMPOSSIBLE) {
    assert.fail(
      `the real-editor test cannot be set up on this machine (set HEF_SKIP_REAL_EDITOR=1 to skip it):\n${tail(setup.output, 20)}`,
    );
  }
  assert.equal(setup.code, 0, `node test/e2e/setup.mjs failed:\n${tail(setup.output)}`);
  t.diagnostic(`setup: ${seconds(setup.ms)}`);

  // 2. the .vsix as it ships (its own check runs the CLI and the addon from the unpacked package)
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const pack = await run(npm, ["run", "--silent", "package", "--", "--out", vsix], 5 * 60_000);
  assert.equal(pack.code, 0, `npm run package failed:\n${tail(pack.output)}`);
  assert.ok(existsSync(vsix), `npm run package wrote no ${vsix}`);
  for (const line of pack.output.split("\n").filter((l) => /\.vsix: |verified/.test(l)))
    t.diagnostic(line.replace(/^package \[[^\]]*\] /, ""));
  t.diagnostic(`package: ${seconds(pack.ms)}`);

  // 3. install it into a fresh code-server and drive the scenarios
  const e2e = await run(process.execPath, [join(e2eDir, "run.mjs"), "--vsix", vsix, "--shots", shotsDir], 8 * 60_000);
  const resultsFile = join(shotsDir, "results.json");
  const summary = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, "utf8")) as Results) : undefined;
  assert.equal(e2e.code, 0, `the real-editor scenarios failed (screenshots in ${shotsDir}):\n${tail(e2e.output, 120)}`);
  assert.ok(summary, `run.mjs wrote no ${resultsFile}`);
  for (const r of summary.results)
    t.diagnostic(`${r.name}: ${r.status}${r.ms ? ` (${seconds(r.ms)})` : ""}${r.reason ? ` — ${r.reason}` : ""}`);
  t.diagnostic(
    `editor run: ${seconds(e2e.ms)}; screenshots: ${summary.screenshots.map((f) => f.replace(`${root}/`, "")).join(", ")}`,
  );
  const { names, pending } = await scenarioList();
  for (const name of pending) t.diagnostic(`${name}: opted out (PENDING in scenarios.mjs)`);
  assert.deepEqual(
    scenarioProblems(names, pending, summary.results),
    [],
    "every scenario of scenarios.mjs not in PENDING must run and pass",
  );
  assert.ok(summary.screenshots.length > 0, "no screenshot was taken");
});
