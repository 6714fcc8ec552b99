// Locates this package's root folder (the nearest package.json named "hef-code" above this module),
// both when run from source (tsx) and from an esbuild bundle in dist/ (ESM or CJS).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "hef-code";

/** Folder of the running module (the bundle file's folder once bundled). */
export function moduleDir(): string {
  if (typeof __dirname === "string") return __dirname; // CJS bundle
  return dirname(fileURLToPath(import.meta.url));
}

function packageName(dir: string): string | undefined {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/** Nearest folder at or above `start` whose package.json is named "hef-code". */
export function findPackageRoot(start: string = moduleDir()): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (packageName(dir) === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json named "${PACKAGE_NAME}" above ${start}`);
  }
}
