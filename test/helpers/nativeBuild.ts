// Builds the native addon before a native test file runs (scripts/build-native.mjs; a no-op when it
// is up to date). A missing compiler or tool skips the tests instead of failing them.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { findPackageRoot } from "../../sidecar/util/packageRoot";

const MISSING_TOOL = 3;

/** false when the addon is built, else the reason to skip (for describe's `skip`). */
export function buildNativeAddon(): string | false {
  const root = findPackageRoot();
  const build = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs"), "--quiet"], {
    cwd: root,
    encoding: "utf8",
  });
  if (build.status !== 0 && build.status !== MISSING_TOOL) {
    throw new Error(`scripts/build-native.mjs failed (exit ${build.status}):\n${build.stdout}\n${build.stderr}`);
  }
  return build.status === MISSING_TOOL ? `native addon not built: ${build.stderr.trim()}` : false;
}
