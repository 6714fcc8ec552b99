import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";

/**
 * The default cache folder of a repository: under the user's cache directory, never inside the
 * indexed tree (where it would be indexed, watched and committed).
 */
export function defaultCacheDir(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const absolute = resolve(root);
  const base = env.HEF_CACHE_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "hef-code");
  const tag = createHash("sha256").update(absolute).digest("hex").slice(0, 12);
  return join(base, `${basename(absolute) || "root"}-${tag}`);
}
