#!/usr/bin/env node
// Runs the real-editor scenarios against a packaged extension:
//
//   node test/e2e/run.mjs --vsix <file.vsix> [--shots <dir>] [--only a,b] [--pending] [--keep-going] [--keep]
//
// installs the .vsix into a fresh code-server, opens a temp copy of samples/shop, runs the scenarios
// of scenarios.mjs in one editor session, and writes screenshots plus results.json into --shots
// (default test/out/e2e). A scenario named in PENDING (scenarios.mjs: the explicit opt-out list) is
// reported as pending; one that needs a feature the extension does not contribute fails, since a
// renamed command or view must not switch a scenario off unseen. --pending (or HEF_E2E_PENDING=1)
// runs every scenario regardless; --only runs just the named ones (the others are "skipped"). The
// first failure stops the run unless --keep-going. --keep keeps the editor's temp folder (logs,
// workspace). Needs `node test/e2e/setup.mjs` first. Exit code 0 when every scenario passed that
// was neither in PENDING nor left out by --only.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Workbench } from "./driver.mjs";
import { prepareEditor, removeEditor, startEditor } from "./editor.mjs";
import { PENDING, features, scenarios } from "./scenarios.mjs";
import { nodeModulesState } from "./setup.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name) => args.includes(`--${name}`);

const t0 = Date.now();
const log = (message) => console.log(`e2e [${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);

const vsix = option("vsix");
if (!vsix) {
  console.error(
    "usage: node test/e2e/run.mjs --vsix <file.vsix> [--shots dir] [--only a,b] [--pending] [--keep-going] [--keep]",
  );
  process.exit(2);
}
if (nodeModulesState() !== "fresh") {
  console.error("e2e: test/e2e is not set up: run node test/e2e/setup.mjs");
  process.exit(2);
}
const unknownPending = [...PENDING].filter((name) => !scenarios.some((s) => s.name === name));
if (unknownPending.length > 0) {
  console.error(`e2e: PENDING (scenarios.mjs) names no scenario: ${unknownPending.join(", ")}; was one renamed?`);
  process.exit(2);
}
const shots = resolve(option("shots") ?? join(root, "test", "out", "e2e"));
const only = option("only")?.split(",").filter(Boolean);
const runPending = flag("pending") || process.env.HEF_E2E_PENDING === "1";
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const dirs = prepareEditor({ vsix: resolve(vsix), workspaceFrom: join(root, "samples", "shop"), log });
const manifest = JSON.parse(readFileSync(join(dirs.extensionDir, "package.json"), "utf8"));
const extensionId = `${manifest.publisher}.${manifest.name}`;
const have = features(manifest);
const server = await startEditor(dirs, { log });
const wb = new Workbench({
  url: server.url,
  workspace: dirs.workspace,
  logsDir: server.logsDir,
  shots,
  extensionId,
  log,
});
const results = [];
let failed = false;
try {
  await wb.launch();
  const context = { wb, manifest, features: have, state: {}, log };
  for (const scenario of scenarios) {
    const missing = scenario.requires.filter((f) => !have.has(f));
    const held = PENDING.has(scenario.name) && !runPending;
    const chosen = only ? only.includes(scenario.name) || scenario.name === "workbench" : !held;
    const stopped = failed && !flag("keep-going");
    if (!chosen || stopped) {
      const reason = stopped
        ? "not run: an earlier scenario failed"
        : only
          ? "not chosen"
          : "pending: listed in PENDING (scenarios.mjs)";
      results.push({ name: scenario.name, status: stopped ? "not-run" : only ? "skipped" : "pending", reason });
      log(`- ${scenario.name}: ${reason}`);
      continue;
    }
    if (missing.length > 0 && !runPending && !only) {
      failed = true;
      const error = `the extension does not contribute ${missing.join(", ")} (renamed? list the scenario in PENDING to opt it out)`;
      results.push({ name: scenario.name, status: "failed", error });
      log(`✗ ${scenario.name}: ${error}`);
      continue;
    }
    const started = Date.now();
    log(`> ${scenario.name}`);
    try {
      await scenario.run({ ...context, log: (m) => log(`  ${m}`) });
      results.push({ name: scenario.name, status: "passed", ms: Date.now() - started });
      log(`✓ ${scenario.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      failed = true;
      results.push({
        name: scenario.name,
        status: "failed",
        ms: Date.now() - started,
        error: String(error?.stack ?? error),
      });
      log(`✗ ${scenario.name}: ${error?.message ?? error}`);
      await wb.screenshot(`failed-${scenario.name}`).catch(() => {});
      console.error(wb.diagnostics());
      console.error(`---- code-server output\n${server.serverOutput().split("\n").slice(-40).join("\n")}`);
    }
  }
} catch (error) {
  failed = true;
  results.push({ name: "harness", status: "failed", error: String(error?.stack ?? error) });
  console.error(error);
} finally {
  await wb.close();
  await server.stop();
  if (flag("keep")) log(`editor state kept in ${dirs.work}`);
  else removeEditor(dirs);
}
const summary = {
  extension: `${extensionId}@${manifest.version}`,
  vsix: resolve(vsix),
  ms: Date.now() - t0,
  screenshots: wb.shotFiles,
  results,
};
writeFileSync(join(shots, "results.json"), JSON.stringify(summary, null, 2) + "\n");
log(
  `${failed ? "FAILED" : "passed"}: ${results.map((r) => `${r.name}=${r.status}`).join(" ")}; screenshots in ${shots}`,
);
process.exitCode = failed ? 1 : 0;
