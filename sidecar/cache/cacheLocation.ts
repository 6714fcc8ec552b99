import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";

/** The workspace's real path (symbolic links resolved); the resolved path when it does not exist (yet). */
function realRoot(root: string): string {
  const absolute = resolve(root);
  try {
    return realpathSync(absolute);
  } catch {
    return absolute;
  }
}

/**
 * The default cache folder of a repository: under the user's cache directory, never inside the
 * indexed tree (where it would be indexed, watched and committed). Named after the real path, so a
 * workspace opened through a symbolic link shares the cache of its target instead of building a
 * second one (a cache made before this was named after the path as given: a workspace opened
 * through a link is indexed once more, into the new folder).
 */
export function defaultCacheDir(root: string, env: NodeJS.ProcessEnv = process.env): string {
  const real = realRoot(root);
  const base = env.HEF_CACHE_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "hef-code");
  const tag = createHash("sha256").update(real).digest("hex").slice(0, 12);
  return join(base, `${basename(real) || "root"}-${tag}`);
}
