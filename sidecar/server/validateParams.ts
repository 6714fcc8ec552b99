// Requests are checked at the protocol boundary, before anything acts on them: the editor is trusted
// to send well-formed parameters, but any process that can write to the sidecar's stdin is not, and
// a negative k spun the search forever, a string k aborted the process inside usearch, an unknown
// mode completed as hef without context. Pure functions over protocol.ts's parameter shapes: the first
// problem found, or undefined.
import { COMPLETION_MODES } from "../completion/types";

/** Bounds the engine can serve: K beyond this is no longer a pseudo-token budget, nor maxTokens a completion. */
export const LIMITS = { k: 1024, maxTokens: 4096 } as const;

const MODES: ReadonlySet<string> = new Set(COMPLETION_MODES);

type Problem = string | undefined;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function string(params: Record<string, unknown>, key: string): Problem {
  return typeof params[key] === "string" ? undefined : `${key} must be a string`;
}

function boolean(params: Record<string, unknown>, key: string): Problem {
  return typeof params[key] === "boolean" ? undefined : `${key} must be true or false`;
}

function integer(params: Record<string, unknown>, key: string, max: number): Problem {
  const value = params[key];
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max
    ? undefined
    : `${key} must be an integer from 1 to ${max}`;
}

function count(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

function textDocument(params: Record<string, unknown>): Problem {
  const document = params.textDocument;
  if (!isObject(document) || typeof document.uri !== "string" || !document.uri.startsWith("file:"))
    return "textDocument.uri must be a file: URI";
  return count(document.version) ? undefined : "textDocument.version must be an integer of at least 0";
}

function position(params: Record<string, unknown>): Problem {
  const at = params.position;
  return isObject(at) && count(at.line) && count(at.character)
    ? undefined
    : "position must have a line and a character, integers of at least 0";
}

function optionalString(params: Record<string, unknown>, key: string): Problem {
  return params[key] === undefined ? undefined : string(params, key);
}

function strings(params: Record<string, unknown>, key: string): Problem {
  const value = params[key];
  return Array.isArray(value) && value.every((item) => typeof item === "string")
    ? undefined
    : `${key} must be an array of strings`;
}

export function completeParamsProblem(params: unknown): Problem {
  if (!isObject(params)) return "the parameters must be an object";
  if (!MODES.has(params.mode as string)) return `mode must be one of ${[...MODES].join(", ")}`;
  return (
    string(params, "root") ??
    textDocument(params) ??
    position(params) ??
    optionalString(params, "insert") ??
    integer(params, "k", LIMITS.k) ??
    integer(params, "maxTokens", LIMITS.maxTokens) ??
    boolean(params, "singleLine") ??
    boolean(params, "entities") ??
    boolean(params, "force")
  );
}

export function rebuildParamsProblem(params: unknown): Problem {
  if (!isObject(params)) return "the parameters must be an object";
  return strings(params, "roots");
}

export function filesChangedParamsProblem(params: unknown): Problem {
  if (!isObject(params)) return "the parameters must be an object";
  return string(params, "root") ?? strings(params, "changed") ?? strings(params, "added") ?? strings(params, "deleted");
}

export function focusParamsProblem(params: unknown): Problem {
  if (!isObject(params)) return "the parameters must be an object";
  return string(params, "root") ?? strings(params, "paths");
}
