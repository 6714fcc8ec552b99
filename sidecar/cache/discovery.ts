/**
 * Finds the text source files of a repository.
 *
 * Which paths count is decided by a PathFilter (gitignore files, an exclude list, an extension allowlist), a
 * standalone object so that a file watcher applies exactly the same rules as the initial walk. Reading a file
 * applies the content rules (size, binary, UTF-8). Nothing here throws for a bad file: it is skipped with a reason.
 */
import { readFileSync } from "node:fs";
import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";

export interface DiscoveryOptions {
  /**
   * Gitignore-style patterns, relative to the root, of paths never indexed. Replaces DEFAULT_EXCLUDES
   * (spread DEFAULT_EXCLUDES to extend it). Negations ("!pattern") work within this list only.
   */
  exclude?: string[];
  /** Lower-case extensions (with or without the dot) of the files to index. Replaces DEFAULT_EXTENSIONS. */
  extensions?: string[];
  /** Exact file names indexed whatever their extension (Dockerfile, Makefile...). Replaces DEFAULT_FILE_NAMES. */
  fileNames?: string[];
  /** Larger files are skipped. Default 1 MiB. */
  maxFileBytes?: number;
  /** Honour .gitignore files and .git/info/exclude. Default true. */
  useGitignore?: boolean;
  /** Match ignore patterns case-insensitively. Default: true on macOS and Windows, false elsewhere (as git). */
  ignoreCase?: boolean;
}

export const DEFAULT_EXCLUDES: readonly string[] = [
  // version control and dependencies
  ".git/",
  ".hg/",
  ".svn/",
  "node_modules/",
  "bower_components/",
  "jspm_packages/",
  "vendor/",
  ".venv/",
  "venv/",
  ".tox/",
  ".nox/",
  "site-packages/",
  "*.egg-info/",
  // build outputs and caches
  "dist/",
  "build/",
  "out/",
  "target/",
  ".next/",
  ".nuxt/",
  ".svelte-kit/",
  ".turbo/",
  ".parcel-cache/",
  ".angular/",
  ".gradle/",
  "coverage/",
  ".nyc_output/",
  "__pycache__/",
  ".mypy_cache/",
  ".pytest_cache/",
  ".ruff_cache/",
  ".cache/",
  ".hef-cache/",
  // generated files and bundles
  "*.min.js",
  "*.min.mjs",
  "*.min.css",
  "*.bundle.js",
  "*.chunk.js",
  "*.map",
  "*.pyc",
  // lockfiles
  "package-lock.json",
  "npm-shrinkwrap.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lock",
  "bun.lockb",
  "Cargo.lock",
  "poetry.lock",
  "Pipfile.lock",
  "uv.lock",
  "Gemfile.lock",
  "composer.lock",
  "go.sum",
  "mix.lock",
  "pubspec.lock",
  "packages.lock.json",
  "gradle.lockfile",
  "flake.lock",
];

export const DEFAULT_EXTENSIONS: readonly string[] = [
  // Python, JavaScript/TypeScript and web
  ".py", ".pyi", ".pyw", ".pyx",
  ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx",
  ".vue", ".svelte", ".astro", ".html", ".htm", ".css", ".scss", ".sass", ".less",
  // JVM, .NET, native
  ".java", ".kt", ".kts", ".scala", ".sc", ".groovy", ".gradle", ".clj", ".cljs", ".cljc",
  ".cs", ".fs", ".fsx", ".vb",
  ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".inl", ".m", ".mm",
  ".go", ".rs", ".swift", ".zig", ".nim", ".d", ".cu", ".cuh",
  // scripting and functional
  ".rb", ".php", ".pl", ".pm", ".lua", ".r", ".jl", ".dart", ".ex", ".exs", ".erl", ".hrl",
  ".hs", ".ml", ".mli", ".elm", ".sol", ".tcl",
  ".sh", ".bash", ".zsh", ".fish", ".ps1", ".psm1", ".bat", ".cmd",
  // data, schemas, build and infrastructure
  ".sql", ".graphql", ".gql", ".proto", ".thrift", ".tf", ".hcl", ".nix", ".cmake", ".mk", ".bzl",
  // text formats worth indexing
  ".md", ".mdx", ".rst", ".adoc", ".json", ".jsonc", ".json5", ".yaml", ".yml", ".toml", ".ini", ".cfg",
];

export const DEFAULT_FILE_NAMES: readonly string[] = [
  "Dockerfile",
  "Containerfile",
  "Makefile",
  "GNUmakefile",
  "CMakeLists.txt",
  "Jenkinsfile",
  "Rakefile",
  "Gemfile",
  "Vagrantfile",
  "BUILD",
  "BUILD.bazel",
  "WORKSPACE",
];

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Why a file was left out. "symlink": a link that escapes the root, loops, or duplicates a listed path. */
export type SkipReason = "binary" | "too-large" | "invalid-utf8" | "unreadable" | "symlink";

export interface SkippedFile {
  /** Repository-relative POSIX path. */
  path: string;
  reason: SkipReason;
  detail?: string;
}

export type ReadResult =
  | { ok: true; text: string; bytes: number }
  | { ok: false; reason: SkipReason; detail: string };

export interface PathFilter {
  /** Absolute root the paths are relative to. */
  readonly root: string;
  /**
   * Whether a repository-relative path is excluded by the exclude list or the gitignore rules (a path under an
   * ignored directory is ignored). Paths outside the root are ignored. Accepts "/" or the platform separator.
   */
  isIgnored(relPath: string, isDirectory: boolean): boolean;
  /** Whether the file name is one to index (extension or file-name allowlist); says nothing about ignores. */
  isSourcePath(relPath: string): boolean;
  /** !isIgnored(relPath, false) && isSourcePath(relPath). */
  accepts(relPath: string): boolean;
  /** Whether the path is a .gitignore or .git/info/exclude, after a change of which `invalidate` is due. */
  isIgnoreFile(relPath: string): boolean;
  /** Forgets cached rules and decisions so that changed .gitignore files are read again (lazily). */
  invalidate(): void;
}

/** "a\\b/./c/" -> "a/b/c"; "" for the root itself, undefined for a path outside it. */
function normalizeRel(relPath: string): string | undefined {
  if (isAbsolute(relPath)) return undefined;
  const parts: string[] = [];
  for (const part of relPath.split(/[\\/]+/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") return undefined;
    parts.push(part);
  }
  return parts.join("/");
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot).toLowerCase();
}

export async function createPathFilter(root: string, options: DiscoveryOptions = {}): Promise<PathFilter> {
  return createPathFilterSync(root, options);
}

/** Same as createPathFilter; .gitignore files are read lazily (and synchronously) as directories are met. */
export function createPathFilterSync(root: string, options: DiscoveryOptions = {}): PathFilter {
  const absRoot = resolve(root);
  const ignoreCase = options.ignoreCase ?? (process.platform === "darwin" || process.platform === "win32");
  const useGitignore = options.useGitignore ?? true;
  const excludes = ignore({ ignorecase: ignoreCase }).add([...(options.exclude ?? DEFAULT_EXCLUDES)]);
  const extensions = new Set(
    (options.extensions ?? DEFAULT_EXTENSIONS).map((e) => (e.startsWith(".") ? e : `.${e}`).toLowerCase()),
  );
  const fileNames = new Set(options.fileNames ?? DEFAULT_FILE_NAMES);

  /** Rules of one directory's .gitignore ("" for the root, which also gets .git/info/exclude), null if none. */
  const rules = new Map<string, Ignore | null>();
  const dirIgnored = new Map<string, boolean>();

  const readRules = (file: string): string | undefined => {
    try {
      return readFileSync(join(absRoot, file), "utf8");
    } catch {
      return undefined;
    }
  };

  const rulesOf = (dir: string): Ignore | null => {
    let r = rules.get(dir);
    if (r !== undefined) return r;
    const texts: string[] = [];
    if (dir === "") {
      const info = readRules(".git/info/exclude");
      if (info !== undefined) texts.push(info);
    }
    const own = readRules(dir === "" ? ".gitignore" : `${dir}/.gitignore`);
    if (own !== undefined) texts.push(own);
    r = texts.length > 0 ? ignore({ ignorecase: ignoreCase }).add(texts.join("\n")) : null;
    rules.set(dir, r);
    return r;
  };

  /** The rules alone for `path` (its ancestors are checked separately). Deeper .gitignore files override. */
  const matches = (path: string, isDirectory: boolean): boolean => {
    const test = isDirectory ? `${path}/` : path;
    if (excludes.ignores(test)) return true;
    if (!useGitignore) return false;
    let ignored = false;
    let slash = -1;
    for (;;) {
      const dir = slash === -1 ? "" : path.slice(0, slash);
      const r = rulesOf(dir);
      if (r) {
        const result = r.test(slash === -1 ? test : test.slice(slash + 1));
        if (result.ignored) ignored = true;
        else if (result.unignored) ignored = false;
      }
      slash = path.indexOf("/", slash + 1);
      if (slash === -1) break;
    }
    return ignored;
  };

  const isDirIgnored = (dir: string): boolean => {
    let known = dirIgnored.get(dir);
    if (known !== undefined) return known;
    const slash = dir.lastIndexOf("/");
    known = (slash !== -1 && isDirIgnored(dir.slice(0, slash))) || matches(dir, true);
    dirIgnored.set(dir, known);
    return known;
  };

  const filter: PathFilter = {
    root: absRoot,
    isIgnored(relPath, isDirectory) {
      const path = normalizeRel(relPath);
      if (path === undefined) return true;
      if (path === "") return false;
      if (isDirectory) return isDirIgnored(path);
      const slash = path.lastIndexOf("/");
      if (slash !== -1 && isDirIgnored(path.slice(0, slash))) return true;
      return matches(path, false);
    },
    isSourcePath(relPath) {
      const name = relPath.slice(Math.max(relPath.lastIndexOf("/"), relPath.lastIndexOf("\\")) + 1);
      return fileNames.has(name) || extensions.has(extensionOf(name));
    },
    accepts(relPath) {
      return filter.isSourcePath(relPath) && !filter.isIgnored(relPath, false);
    },
    isIgnoreFile(relPath) {
      const path = normalizeRel(relPath);
      return path !== undefined && (path === ".git/info/exclude" || path === ".gitignore" || path.endsWith("/.gitignore"));
    },
    invalidate() {
      rules.clear();
      dirIgnored.clear();
    },
  };
  return filter;
}

function errorCode(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ?? (e?.message || String(error));
}

function isInside(realRoot: string, realPath: string): boolean {
  return realPath === realRoot || realPath.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

function toPosix(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}

export interface WalkResult {
  /** Repository-relative POSIX paths of candidate source files, sorted. Their content is not checked yet. */
  files: string[];
  /** Entries left out while walking: symlinks that escape, loop or duplicate; unreadable directories. */
  skipped: SkippedFile[];
}

/**
 * Walks the tree under root, applying the PathFilter. Symbolic links are followed when their target is inside
 * the root and not already listed (otherwise skipped with reason "symlink"). Never throws for entries inside
 * the tree; throws only when the root itself cannot be read.
 */
export async function walkSourceFiles(root: string, options: DiscoveryOptions = {}, filter?: PathFilter): Promise<WalkResult> {
  const pathFilter = filter ?? (await createPathFilter(root, options));
  const absRoot = pathFilter.root;
  const realRoot = await realpath(absRoot);
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  /** Real paths of the directories walked. */
  const visited = new Set<string>([realRoot]);
  const linkedDirs: Array<{ rel: string; real: string; parentReal: string }> = [];
  const linkedFiles: Array<{ rel: string; real: string }> = [];

  const walkDir = async (relDir: string, realDir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(absRoot, relDir), { withFileTypes: true });
    } catch (error) {
      if (relDir === "") throw error;
      skipped.push({ path: relDir, reason: "unreadable", detail: errorCode(error) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: string[] = [];
    for (const entry of entries) {
      const rel = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!pathFilter.isIgnored(rel, true)) subdirs.push(entry.name);
      } else if (entry.isFile()) {
        if (pathFilter.accepts(rel)) files.push(rel);
      } else if (entry.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(join(absRoot, rel));
        } catch (error) {
          // Dangling link or a loop (ELOOP): only report those that would have been indexed.
          if (pathFilter.accepts(rel)) skipped.push({ path: rel, reason: "symlink", detail: `cannot resolve: ${errorCode(error)}` });
          continue;
        }
        let info;
        try {
          info = await stat(real);
        } catch (error) {
          continue;
        }
        if (info.isDirectory()) {
          if (pathFilter.isIgnored(rel, true)) continue;
          if (!isInside(realRoot, real)) skipped.push({ path: rel, reason: "symlink", detail: "directory outside the root" });
          else linkedDirs.push({ rel, real, parentReal: realDir });
        } else if (info.isFile() && pathFilter.accepts(rel)) {
          if (!isInside(realRoot, real)) skipped.push({ path: rel, reason: "symlink", detail: "file outside the root" });
          else linkedFiles.push({ rel, real });
        }
      }
    }
    for (const name of subdirs) {
      const real = join(realDir, name);
      visited.add(real);
      await walkDir(relDir === "" ? name : `${relDir}/${name}`, real);
    }
  };

  await walkDir("", realRoot);
  // Linked directories after the real ones, so that a real path wins over a link to it.
  for (let i = 0; i < linkedDirs.length; i++) {
    const { rel, real, parentReal } = linkedDirs[i]!;
    if (visited.has(real) || isInside(real, parentReal)) {
      const detail = isInside(real, parentReal) ? "points to an ancestor (loop)" : `duplicate of ${toPosix(relative(realRoot, real)) || "."}`;
      skipped.push({ path: rel, reason: "symlink", detail });
      continue;
    }
    visited.add(real);
    await walkDir(rel, real);
  }
  const listed = new Set(files);
  for (const { rel, real } of linkedFiles) {
    const target = toPosix(relative(realRoot, real));
    if (listed.has(target)) skipped.push({ path: rel, reason: "symlink", detail: `duplicate of ${target}` });
    else files.push(rel);
  }
  files.sort();
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

/** Repository-relative POSIX paths of the source files under root, sorted (content not checked). */
export async function listSourceFiles(root: string, options: DiscoveryOptions = {}): Promise<string[]> {
  return (await walkSourceFiles(root, options)).files;
}

/**
 * Reads one file as UTF-8 text (a leading BOM removed). Skips, without throwing: files over maxFileBytes, binary
 * files (a NUL byte in the first 8 KiB), invalid UTF-8, anything unreadable (missing, permissions, not a regular
 * file, a path that resolves outside the root).
 */
export async function readSourceFile(root: string, relPath: string, options: DiscoveryOptions = {}): Promise<ReadResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const rel = normalizeRel(relPath);
  if (rel === undefined || rel === "") return { ok: false, reason: "unreadable", detail: "not a path inside the root" };
  const absRoot = resolve(root);
  const abs = join(absRoot, rel);
  let buffer: Buffer;
  try {
    const link = await lstat(abs);
    if (link.isSymbolicLink()) {
      const [real, realRoot] = await Promise.all([realpath(abs), realpath(absRoot)]);
      if (!isInside(realRoot, real)) return { ok: false, reason: "symlink", detail: "resolves outside the root" };
    }
    const info = link.isSymbolicLink() ? await stat(abs) : link;
    if (!info.isFile()) return { ok: false, reason: "unreadable", detail: "not a regular file" };
    if (info.size > maxBytes) return { ok: false, reason: "too-large", detail: `${info.size} bytes > ${maxBytes}` };
    buffer = await readFile(abs);
  } catch (error) {
    return { ok: false, reason: "unreadable", detail: errorCode(error) };
  }
  if (buffer.length > maxBytes) return { ok: false, reason: "too-large", detail: `${buffer.length} bytes > ${maxBytes}` };
  return decodeSource(buffer);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The content rules of readSourceFile on bytes already read. */
export function decodeSource(buffer: Uint8Array): ReadResult {
  const head = buffer.subarray(0, 8192);
  const nul = head.indexOf(0);
  if (nul !== -1) return { ok: false, reason: "binary", detail: `NUL byte at offset ${nul}` };
  try {
    return { ok: true, text: decoder.decode(buffer), bytes: buffer.length };
  } catch {
    return { ok: false, reason: "invalid-utf8", detail: "not valid UTF-8" };
  }
}

export interface DiscoveryResult {
  /** Readable text source files, sorted. */
  files: string[];
  skipped: SkippedFile[];
  /** skipped, counted by reason. */
  counts: Record<SkipReason, number>;
}

/**
 * Walks and reads every candidate (8 at a time) to find the text source files; what the indexer does in one go
 * is walkSourceFiles + readSourceFile per file, which avoids reading twice.
 */
export async function discoverSourceFiles(root: string, options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const walk = await walkSourceFiles(root, options);
  const ok = new Array<boolean>(walk.files.length).fill(false);
  const skipped = [...walk.skipped];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < walk.files.length) {
      const i = next++;
      const path = walk.files[i]!;
      const read = await readSourceFile(root, path, options);
      if (read.ok) ok[i] = true;
      else skipped.push({ path, reason: read.reason, detail: read.detail });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const counts: Record<SkipReason, number> = { binary: 0, "too-large": 0, "invalid-utf8": 0, unreadable: 0, symlink: 0 };
  for (const s of skipped) counts[s.reason]++;
  return { files: walk.files.filter((_, i) => ok[i]), skipped, counts };
}
