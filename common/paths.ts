import { isAbsolute, relative, sep } from "node:path";

/** Lower-case extension of a path's file name, with the dot ("" when none). `a/b.D.TS` -> ".ts". */
export function extensionOf(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot).toLowerCase();
}

/** Whether `path` is `dir` or lies under it (both absolute, resolved the same way: both real paths, or neither). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
