#!/usr/bin/env node
// `npm run test:electron`: runs test/electron/suite.cjs inside a desktop VS Code (Electron), with the
// extension loaded from this checkout in development mode. @vscode/test-electron downloads VS Code
// from update.code.visualstudio.com on first use (cached in .vscode-test/), so this needs a network;
// without one it stops at once and says so. Offline, use the real-editor test (test/e2e/).
//
//   npm run test:electron [-- --version 1.100.3]     (HEF_VSCODE_VERSION works too; default: stable)
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const args = process.argv.slice(2);
const versionArg = args.indexOf("--version");
const version = (versionArg >= 0 ? args[versionArg + 1] : undefined) ?? process.env.HEF_VSCODE_VERSION ?? "stable";
const DOWNLOAD_HOST = "https://update.code.visualstudio.com";

async function reachable(url) {
  try {
    await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(8_000) });
    return true;
  } catch {
    return false;
  }
}

if (!(await reachable(`${DOWNLOAD_HOST}/api/releases/stable`))) {
  console.error(
    `test:electron: ${DOWNLOAD_HOST} is unreachable, and @vscode/test-electron downloads VS Code from there. ` +
      "This machine has no network for it: run the real-editor test instead (node test/e2e/setup.mjs once, then npm test).",
  );
  process.exit(2);
}

const { runTests } = await import("@vscode/test-electron");
const work = mkdtempSync(join(tmpdir(), "hef-electron-"));
const workspace = join(work, "shop");
cpSync(join(root, "samples", "shop"), workspace, {
  recursive: true,
  filter: (p) => !/[\\/](\.hef-cache|__pycache__)([\\/]|$)/.test(p),
});
let code = 1;
try {
  code = await runTests({
    version,
    extensionDevelopmentPath: root,
    extensionTestsPath: join(here, "suite.cjs"),
    extensionTestsEnv: { HEF_CACHE_HOME: join(work, "cache") },
    launchArgs: [
      workspace,
      "--disable-extensions",
      "--disable-workspace-trust",
      "--skip-welcome",
      "--skip-release-notes",
      "--user-data-dir",
      join(work, "user-data"),
    ],
  });
} catch (error) {
  console.error(`test:electron: ${error?.message ?? error}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
