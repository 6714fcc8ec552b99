import { DEFAULT_EXCLUDES } from "./pathFilter";

/**
 * What a folder leaves out: the built-in excludes plus the user's (hef.exclude adds to them, where
 * DiscoveryOptions.exclude replaces them). The sidecar opens caches with it and the extension's
 * watcher filters with it, so both ignore the same paths.
 */
export function folderExcludes(userExcludes: readonly string[]): string[] {
  return [...DEFAULT_EXCLUDES, ...userExcludes];
}
