// Typed reading of the "hef." settings, and which of them only a sidecar restart can apply:
// the models, the backend and the excludes are fixed when the sidecar loads its engine and
// opens its caches; everything else is read on each use and applies live. The defaults are the
// manifest's (package.json), written there once.
import manifest from "../package.json";
import type { CompletionMode, SidecarOptions } from "../common/protocol";
import type { Backend } from "../common/settings";

const DEFAULTS = manifest.contributes.configuration.properties;

export const SECTION = "hef";

export interface HefSettings {
  /** Inline completions on or off ("HEF: Toggle inline completions"). */
  enable: boolean;
  /** GGUF paths; undefined = the embedded default models. */
  models: { embedder?: string; generator?: string; adapter?: string };
  backend: Backend;
  mode: CompletionMode;
  k: number;
  /** Quiet time after typing before a completion is requested. */
  debounceMs: number;
  maxTokens: number;
  /** A comment line of names the retrieved code defines (paper 3.8) in the prompt. */
  entities: boolean;
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

const MODES = DEFAULTS["hef.mode"].enum as readonly CompletionMode[];
const BACKENDS = DEFAULTS["hef.backend"].enum as readonly HefSettings["backend"][];

function boolean(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

function positiveInteger(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback;
}

function optionalPath(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function strings(value: unknown, fallback: readonly string[]): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string" && item.trim() !== "")
    : [...fallback];
}

/** Reads the settings, replacing values of the wrong type by the defaults (package.json states the same ones). */
export function readSettings(config: ConfigurationReader): HefSettings {
  const mode = config.get<string>("mode");
  const backend = config.get<string>("backend");
  return {
    enable: boolean(config.get("enable"), DEFAULTS["hef.enable"].default),
    models: {
      embedder: optionalPath(config.get("models.embedder")),
      generator: optionalPath(config.get("models.generator")),
      adapter: optionalPath(config.get("models.adapter")),
    },
    backend: BACKENDS.find((b) => b === backend) ?? (DEFAULTS["hef.backend"].default as HefSettings["backend"]),
    mode: MODES.find((m) => m === mode) ?? (DEFAULTS["hef.mode"].default as CompletionMode),
    k: positiveInteger(config.get("k"), DEFAULTS["hef.k"].default),
    debounceMs: positiveInteger(config.get("debounceMs"), DEFAULTS["hef.debounceMs"].default),
    maxTokens: positiveInteger(config.get("maxTokens"), DEFAULTS["hef.maxTokens"].default),
    entities: boolean(config.get("entities"), DEFAULTS["hef.entities"].default),
    multiline: boolean(config.get("multiline"), DEFAULTS["hef.multiline"].default),
    enabledLanguages: strings(config.get("enabledLanguages"), DEFAULTS["hef.enabledLanguages"].default),
    exclude: strings(config.get("exclude"), DEFAULTS["hef.exclude"].default),
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
