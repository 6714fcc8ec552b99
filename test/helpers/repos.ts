import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";

/** A real multi-directory package of JavaScript and type declarations, installed with the project. */
export const REAL_REPO = resolve("node_modules/vscode-languageserver");

/** A fresh temporary folder, removed when the test file ends. */
export function tempDir(prefix = "hef-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A private copy of a real repository that a test may edit. */
export function copyOfRepo(source = REAL_REPO): string {
  const dir = join(tempDir(), "repo");
  cpSync(source, dir, { recursive: true });
  return dir;
}
