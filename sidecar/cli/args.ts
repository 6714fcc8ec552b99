// The CLI's options, shared by every command, and the checks that turn them into typed values.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { COMPLETION_MODES, type CompletionMode } from "../completion/types";
import type { Backend } from "../models/llamaRuntime";

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

export function optionalPositiveInt(value: string | undefined, name: string): number | undefined {
  return value === undefined ? undefined : positiveInt(value, name, 0);
}

export function backendOf(values: Values): Backend {
  const backend = values.backend ?? "auto";
  if (backend !== "auto" && backend !== "cpu") throw new UsageError(`--backend must be auto or cpu, got "${values.backend}"`);
  return backend;
}

/** --mode hef,rag or repeated --mode; `fallback` when absent. */
export function modesOf(values: Values, fallback: readonly CompletionMode[]): CompletionMode[] {
  if (!values.mode) return [...fallback];
  const modes = values.mode.flatMap((m) => m.split(",")).map((m) => m.trim());
  for (const mode of modes) {
    if (!COMPLETION_MODES.includes(mode as CompletionMode)) throw new UsageError(`--mode must be one of ${COMPLETION_MODES.join(", ")}, got "${mode}"`);
  }
  return [...new Set(modes as CompletionMode[])];
}

export function directory(dir: string): string {
  const root = resolve(dir);
  if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: not a directory`);
  return root;
}

/** Model and adapter paths as given (resolved), undefined = the embedded defaults. */
export function modelPaths(values: Values): { embedderPath?: string; generatorPath?: string; adapterPath?: string } {
  return {
    ...(values.embedder ? { embedderPath: resolve(values.embedder) } : {}),
    ...(values.generator ? { generatorPath: resolve(values.generator) } : {}),
    ...(values.adapter ? { adapterPath: resolve(values.adapter) } : {}),
  };
}
