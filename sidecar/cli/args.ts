// The CLI's options, shared by every command, and the checks that turn them into typed values.
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { DiscoveryOptions } from "../../common/pathFilter";
import { COMPLETION_MODES, type CompletionMode } from "../completion/types";
import { type Backend, BACKENDS, DEFAULT_BACKEND } from "../../common/settings";
import { type ModelPaths, shippedModels } from "../models/shippedModels";

/** Bad command-line use: exit status 2 and the usage text. */
export class UsageError extends Error {}

export const OPTIONS = {
  json: { type: "boolean" },
  rebuild: { type: "boolean" },
  embedder: { type: "string" },
  generator: { type: "string" },
  adapter: { type: "string" },
  "cache-dir": { type: "string" },
  backend: { type: "string" },
  exclude: { type: "string", multiple: true },
  b: { type: "string" },
  file: { type: "string" },
  line: { type: "string" },
  k: { type: "string" },
  mode: { type: "string", multiple: true },
  repos: { type: "string" },
  "max-tokens": { type: "string" },
  multiline: { type: "boolean" },
  "no-fim": { type: "boolean" },
  entities: { type: "boolean" },
  "rag-budget": { type: "string" },
  dir: { type: "string" },
  timeout: { type: "string" },
  out: { type: "string" },
  tasks: { type: "string" },
  "per-repo": { type: "string" },
  "per-file": { type: "string" },
  seed: { type: "string" },
  "cross-file": { type: "boolean" },
  preset: { type: "string" },
  until: { type: "string" },
  ablation: { type: "string" },
  set: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

export function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

export type Values = ReturnType<typeof parse>["values"];

export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

export function optionalPositiveInt(value: string | undefined, name: string): number | undefined {
  return value === undefined ? undefined : positiveInt(value, name, 0);
}

export function backendOf(values: Values): Backend {
  const backend = values.backend ?? DEFAULT_BACKEND;
  if (!(BACKENDS as readonly string[]).includes(backend))
    throw new UsageError(`--backend must be ${BACKENDS.join(" or ")}, got "${values.backend}"`);
  return backend as Backend;
}

/** --mode hef,rag or repeated --mode; `fallback` when absent. */
export function modesOf(values: Values, fallback: readonly CompletionMode[]): CompletionMode[] {
  if (!values.mode) return [...fallback];
  const modes = values.mode.flatMap((m) => m.split(",")).map((m) => m.trim());
  for (const mode of modes) {
    if (!COMPLETION_MODES.includes(mode as CompletionMode))
      throw new UsageError(`--mode must be one of ${COMPLETION_MODES.join(", ")}, got "${mode}"`);
  }
  return [...new Set(modes as CompletionMode[])];
}

export function directory(dir: string): string {
  const root = resolve(dir);
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: not a directory`);
  return root;
}

/**
 * The repositories under a directory, as `hef eval --repos` reads it: each subdirectory (or link
 * to one) is a repository named by its folder; hidden ones (.git) are none. Sorted by name.
 */
export function repositories(reposDir: string): string[] {
  return readdirSync(reposDir)
    .filter((name) => !name.startsWith(".") && statSync(join(reposDir, name), { throwIfNoEntry: false })?.isDirectory())
    .sort();
}

/** What --exclude makes of discovery, the same for every command that reads a repository. */
export function discoveryOf(values: Values): DiscoveryOptions {
  return values.exclude ? { exclude: values.exclude } : {};
}

/** Model and adapter paths as given (resolved), undefined = the embedded defaults (withShippedModels). */
export function modelPaths(values: Values): { embedderPath?: string; generatorPath?: string; adapterPath?: string } {
  return {
    ...(values.embedder ? { embedderPath: resolve(values.embedder) } : {}),
    ...(values.generator ? { generatorPath: resolve(values.generator) } : {}),
    ...(values.adapter ? { adapterPath: resolve(values.adapter) } : {}),
  };
}

/** The paths given, the embedded default models (shippedModels) for the others. */
export function withShippedModels(paths: ReturnType<typeof modelPaths>): ModelPaths {
  return { ...shippedModels(), ...paths };
}
