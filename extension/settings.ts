// Typed reading of the "hef." settings, and which of them only a sidecar restart can apply:
// the models, the backend and the excludes are fixed when the sidecar loads its engine and
// opens its caches; everything else is read on each use and applies live.
import type { CompletionMode } from "../sidecar/completion/types";
import type { SidecarOptions } from "../sidecar/protocol";

export const SECTION = "hef";

export interface HefSettings {
  /** Inline completions on or off ("HEF: Toggle inline completions"). */
  enable: boolean;
  /** GGUF paths; undefined = the embedded default models. */
  models: { embedder?: string; generator?: string; adapter?: string };
  backend: "auto" | "cpu";
  mode: CompletionMode;
  k: number;
  /** Quiet time after typing before a completion is requested. */
  debounceMs: number;
  maxTokens: number;
  multiline: boolean;
  /** Language ids completed; "*" = all. */
  enabledLanguages: string[];
  /** gitignore-style globs left out of the index, besides .gitignore and the built-in excludes. */
  exclude: string[];
}

/** The part of vscode.WorkspaceConfiguration read here, so tests can hand in a plain object. */
export interface ConfigurationReader {
  get<T>(key: string): T | undefined;
}

/** Settings whose change restarts the sidecar (keys relative to SECTION). */
export const RESTART_KEYS = ["models", "backend", "exclude"] as const satisfies readonly (keyof HefSettings)[];

const MODES: readonly CompletionMode[] = ["hef", "rag", "none"];

function positiveInteger(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback;
}

function optionalPath(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function strings(value: unknown, fallback: string[]): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string" && item.trim() !== "") : fallback;
}

/** Reads the settings, replacing values of the wrong type by the defaults (package.json states the same ones). */
export function readSettings(config: ConfigurationReader): HefSettings {
  const mode = config.get<string>("mode");
  return {
    enable: config.get<boolean>("enable") !== false,
    models: {
      embedder: optionalPath(config.get("models.embedder")),
      generator: optionalPath(config.get("models.generator")),
      adapter: optionalPath(config.get("models.adapter")),
    },
    backend: config.get<string>("backend") === "cpu" ? "cpu" : "auto",
    mode: MODES.find((m) => m === mode) ?? "hef",
    k: positiveInteger(config.get("k"), 32),
    debounceMs: positiveInteger(config.get("debounceMs"), 150),
    maxTokens: positiveInteger(config.get("maxTokens"), 64),
    multiline: config.get<boolean>("multiline") === true,
    enabledLanguages: strings(config.get("enabledLanguages"), ["*"]),
    exclude: strings(config.get("exclude"), []),
  };
}

/**
 * Whether the settings only a sidecar restart applies differ. Effective values are compared, not
 * the keys a change event touched: writing a blank model path where none was set, or a user value
 * that a workspace value overrides, changes nothing the sidecar would load.
 */
export function needsRestart(before: HefSettings, after: HefSettings): boolean {
  return RESTART_KEYS.some((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

export function sidecarOptions(settings: HefSettings): SidecarOptions {
  return {
    embedderPath: settings.models.embedder,
    generatorPath: settings.models.generator,
    adapterPath: settings.models.adapter,
    backend: settings.backend,
    exclude: settings.exclude,
  };
}

export function completesLanguage(settings: HefSettings, languageId: string): boolean {
  return settings.enabledLanguages.includes("*") || settings.enabledLanguages.includes(languageId);
}
