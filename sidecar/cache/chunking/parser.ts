/**
 * web-tree-sitter runtime and grammars: the runtime is initialised once per process, each grammar is loaded lazily
 * on first use, synchronously. By default the wasm files are resolved from the installed npm packages (works when running from
 * source); a `wasmDir` holding web-tree-sitter.wasm and the grammar wasm files (by their package file names) takes
 * precedence, for a bundle that copies them next to itself.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Language, Parser } from "web-tree-sitter";
import { LANGUAGES, type LanguageSpec } from "../../languages";

export const RUNTIME_WASM = "web-tree-sitter.wasm";

let runtime: Promise<void> | undefined;
/** The global WebAssembly API (its types are not in this project's lib: no DOM). */
const wasmApi = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => unknown } }).WebAssembly;
const grammars = new Map<string, Language | Error>();

function packageRequire(): ReturnType<typeof createRequire> | undefined {
  try {
    return createRequire(import.meta.url);
  } catch {
    return undefined; // e.g. bundled to CommonJS, where import.meta.url is empty: use wasmDir
  }
}

/** Absolute path of a file shipped in an npm package, or undefined when it cannot be resolved. */
function resolvePackageFile(pkg: string, file: string): string | undefined {
  try {
    return packageRequire()?.resolve(`${pkg}/${file}`);
  } catch {
    return undefined;
  }
}

/**
 * Every wasm file the chunker may load, as { name, path } with path resolved from node_modules: what a build
 * step copies into the directory later passed as `wasmDir`.
 */
export function wasmAssets(): Array<{ name: string; path: string | undefined }> {
  const names = new Map<string, string | undefined>();
  names.set(RUNTIME_WASM, resolvePackageFile("web-tree-sitter", RUNTIME_WASM));
  for (const l of LANGUAGES) names.set(l.wasmFile, resolvePackageFile(l.wasmPackage, l.wasmFile));
  return [...names].map(([name, path]) => ({ name, path }));
}

/** Initialises the web-tree-sitter runtime once per process (the first caller's wasmDir wins). */
export function initRuntime(wasmDir?: string): Promise<void> {
  runtime ??= Parser.init(
    wasmDir
      ? {
          locateFile: (name: string, scriptDirectory: string) => {
            const local = join(wasmDir, name);
            return existsSync(local) ? local : scriptDirectory + name;
          },
        }
      : undefined,
  ).catch((error: unknown) => {
    runtime = undefined; // allow a retry
    throw error;
  });
  return runtime;
}

/** Where a grammar's wasm is: in wasmDir when given and present there, else in its npm package. */
export function grammarPath(spec: LanguageSpec, wasmDir?: string): string {
  if (wasmDir) {
    const local = join(wasmDir, spec.wasmFile);
    if (existsSync(local)) return local;
  }
  const resolved = resolvePackageFile(spec.wasmPackage, spec.wasmFile);
  if (!resolved) {
    throw new Error(
      `cannot find ${spec.wasmFile}: not in ${wasmDir ?? "(no wasm directory)"} nor in the ${spec.wasmPackage} package`,
    );
  }
  return resolved;
}

/**
 * Loads a grammar once per process (per wasm path), synchronously: the wasm is read and compiled on first use
 * (a few milliseconds). initRuntime must have completed. A failure is remembered and thrown again.
 */
export function loadGrammarSync(spec: LanguageSpec, wasmDir?: string): Language {
  let path: string;
  try {
    path = grammarPath(spec, wasmDir);
  } catch (error) {
    path = `missing:${spec.wasmFile}`;
    if (!grammars.has(path)) grammars.set(path, error as Error);
  }
  let loaded = grammars.get(path);
  if (!loaded) {
    try {
      const module = new wasmApi.Module(readFileSync(path)) as Parameters<typeof Language.loadSync>[0];
      loaded = Language.loadSync(module);
    } catch (error) {
      loaded = error instanceof Error ? error : new Error(String(error));
    }
    grammars.set(path, loaded);
  }
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

export { Parser };
