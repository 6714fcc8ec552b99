/**
 * Which paths of a repository count as source: gitignore files, an exclude list and an extension
 * allowlist. Shared by the sidecar's walk and the extension's watcher (hence common/), so that the
 * watcher applies exactly the rules of the walk.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { extensionOf, isInside } from "./paths";

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
  ".py",
  ".pyi",
  ".pyw",
  ".pyx",
  ".js",
  ".mjs",
  ".cjs",
  ".jsx",
  ".ts",
  ".mts",
  ".cts",
  ".tsx",
  ".vue",
  ".svelte",
  ".astro",
  ".html",
  ".htm",
  ".css",
  ".scss",
  ".sass",
  ".less",
  // JVM, .NET, native
  ".java",
  ".kt",
  ".kts",
  ".scala",
  ".sc",
  ".groovy",
  ".gradle",
  ".clj",
  ".cljs",
  ".cljc",
  ".cs",
  ".fs",
  ".fsx",
  ".vb",
  ".c",
  ".h",
  ".cc",
  ".cpp",
  ".cxx",
  ".hh",
  ".hpp",
  ".hxx",
  ".inl",
  ".m",
  ".mm",
  ".go",
  ".rs",
  ".swift",
  ".zig",
  ".nim",
  ".d",
  ".cu",
  ".cuh",
  // scripting and functional
  ".rb",
  ".php",
  ".pl",
  ".pm",
  ".lua",
  ".r",
  ".jl",
  ".dart",
  ".ex",
  ".exs",
  ".erl",
  ".hrl",
  ".hs",
  ".ml",
  ".mli",
  ".elm",
  ".sol",
  ".tcl",
  ".sh",
  ".bash",
  ".zsh",
  ".fish",
  ".ps1",
  ".psm1",
  ".bat",
  ".cmd",
  // data, schemas, build and infrastructure
  ".sql",
  ".graphql",
  ".gql",
  ".proto",
  ".thrift",
  ".tf",
  ".hcl",
  ".nix",
  ".cmake",
  ".mk",
  ".bzl",
  // text formats worth indexing
  ".md",
  ".mdx",
  ".rst",
  ".adoc",
  ".json",
  ".jsonc",
  ".json5",
  ".yaml",
  ".yml",
  ".toml",
  ".ini",
  ".cfg",
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

export interface PathFilter {
  /** Absolute root the paths are relative to. */
  readonly root: string;
  /**
   * Whether a repository-relative path is excluded by the exclude list or the gitignore rules, or lies in a cache
   * folder (one holding a CACHE_TAG); a path under an ignored directory is ignored. Paths outside the root are
   * ignored. Accepts "/" or the platform separator.
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

// A backslash separates path components on Windows only: on POSIX it is a character of a file name,
// and reading `a\b.py` as `a/b.py` would follow a symlinked directory `a` out of the workspace.
const SEPARATORS = sep === "\\" ? /[\\/]+/ : /\/+/;

/** "a/./b/c/" -> "a/b/c" (and "a\b" -> "a/b" on Windows); "" for the root itself, undefined for a path outside it. */
export function normalizeRel(relPath: string): string | undefined {
  if (isAbsolute(relPath)) return undefined;
  const parts: string[] = [];
  for (const part of relPath.split(SEPARATORS)) {
    if (part === "" || part === ".") continue;
    if (part === "..") return undefined;
    parts.push(part);
  }
  return parts.join("/");
}

/** Ignore files larger than this are not read (git's own are a few KiB). */
export const MAX_IGNORE_FILE_BYTES = 256 * 1024;

function realpathSafe(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * An ignore file's text when it is a regular file inside the root of at most MAX_IGNORE_FILE_BYTES;
 * otherwise undefined. A repository controls its ignore files: a `.gitignore` linked to /dev/zero, a
 * FIFO or a file outside the workspace must neither hang the walk, exhaust memory nor be read.
 * Opened non-blocking, so that a FIFO returns at once, and checked on the open descriptor.
 */
export function readIgnoreFile(path: string, realRoot: string): string | undefined {
  let fd: number | undefined;
  try {
    const real = realpathSync(path);
    if (!isInside(realRoot, real)) return undefined;
    fd = openSync(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_IGNORE_FILE_BYTES) return undefined;
    return readFileSync(fd, "utf8");
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A folder holding this file is a cache (the Cache Directory Tagging Specification,
 * https://bford.info/cachedir/, which backup tools honour too): never indexed nor watched. Each HEF
 * cache folder holds one (cacheStore.ts), so a cache that --cache-dir or HEF_CACHE_HOME puts inside
 * the indexed tree does not index itself.
 */
export const CACHE_TAG = "CACHEDIR.TAG";
export const CACHE_TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55";

/** Whether `dir` holds a cache tag: a regular file inside the root that starts with the signature. */
export function holdsCacheTag(dir: string, realRoot: string): boolean {
  let fd: number | undefined;
  try {
    // One failed open for the folders without one (nearly all); non-blocking, as for the ignore files.
    fd = openSync(join(dir, CACHE_TAG), constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    if (!fstatSync(fd).isFile() || !isInside(realRoot, realpathSync(join(dir, CACHE_TAG)))) return false;
    const head = Buffer.alloc(CACHE_TAG_SIGNATURE.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.toString("latin1") === CACHE_TAG_SIGNATURE;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
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

  let realRoot: string | undefined;
  const readRules = (file: string): string | undefined => {
    realRoot ??= realpathSafe(absRoot);
    return readIgnoreFile(join(absRoot, file), realRoot);
  };
  const isCache = (dir: string): boolean => {
    realRoot ??= realpathSafe(absRoot);
    return holdsCacheTag(join(absRoot, dir), realRoot);
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
    known = (slash !== -1 && isDirIgnored(dir.slice(0, slash))) || matches(dir, true) || isCache(dir);
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
      return (
        path !== undefined && (path === ".git/info/exclude" || path === ".gitignore" || path.endsWith("/.gitignore"))
      );
    },
    invalidate() {
      rules.clear();
      dirIgnored.clear();
    },
  };
  return filter;
}
