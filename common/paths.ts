import { isAbsolute, relative, sep } from "node:path";

/** Whether `path` is `dir` or lies under it (both absolute, resolved the same way: both real paths, or neither). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
