import { posix } from "node:path";
import { readSourceFile } from "./discovery";
import type { Focus } from "./indexOrder";

/**
 * The files a source file probably imports, as repository paths: what a big first index reads right
 * after the files in view, since a completion there is most likely to need them. Read from the text
 * with patterns, not a parser: a wrong guess only changes the order files are indexed in.
 */
export function importedPaths(path: string, text: string): string[] {
  const dir = posix.dirname(path);
  if (/\.pyi?$/.test(path)) return pythonImports(dir, text);
  if (/\.[cm]?[jt]sx?$/.test(path)) return scriptImports(dir, text);
  return [];
}

/** `import a.b`, `from a.b import c`, `from .b import c`: a module is a file or a package's __init__.py. */
function pythonImports(dir: string, text: string): string[] {
  const out: string[] = [];
  const module = (base: string, dotted: string) => {
    const stem = posix.join(base, ...dotted.split(".").filter(Boolean));
    out.push(`${stem}.py`, `${stem}/__init__.py`);
  };
  // The imported names: in parentheses (they may span lines) or up to the line's end.
  for (const m of text.matchAll(/^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(?:\(([^)]*)\)|([^\n#]*))/gm)) {
    const [, dots, name] = m;
    const names = m[3] ?? m[4] ?? "";
    // Relative to the file's package: "." is its folder, each more dot one folder up. Absolute: from the root.
    const base = dots!.length > 0 ? posix.join(dir, ...Array(dots!.length - 1).fill("..")) : "";
    module(base, name!);
    // `from pkg import mod` may name a submodule.
    for (const item of names.split(",")) {
      const imported = item.trim().split(/\s+as\s+/)[0]!;
      if (/^\w+$/.test(imported)) module(base, `${name}.${imported}`);
    }
  }
  for (const m of text.matchAll(/^[ \t]*import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)/gm))
    for (const name of m[1]!.split(",")) module("", name.trim());
  return [...new Set(out.map((p) => posix.normalize(p)).filter((p) => !p.startsWith("..")))];
}

const SCRIPT_EXTENSIONS = ["", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", "/index.ts", "/index.tsx", "/index.js"];

/** Relative specifiers of import/export ... from, import() and require(); packages are not in the repository's tree here. */
function scriptImports(dir: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:from\s+|import\s*\(\s*|require\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm,
  )) {
    const target = posix.normalize(posix.join(dir, m[1]!));
    if (target.startsWith("..")) continue;
    // "./util.js" in TypeScript sources names util.ts.
    const stem = target.replace(/\.[cm]?js$/, "");
    for (const ext of SCRIPT_EXTENSIONS) out.push(`${stem}${ext}`);
    if (stem !== target) out.push(target);
  }
  return [...new Set(out)];
}

/** The files in view (relative to `root`) and what they import, read under the index's rules (inside the root, size limit, UTF-8). */
export async function focusWithImports(root: string, inView: ReadonlySet<string>): Promise<Focus> {
  const lists = await Promise.all(
    [...inView].map(async (path) => {
      const read = await readSourceFile(root, path);
      return read.ok ? importedPaths(path, read.text) : [];
    }),
  );
  return { inView, imported: new Set(lists.flat()) };
}
