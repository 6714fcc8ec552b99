/**
 * Line-completion metrics as RepoEval (RepoCoder's compute_score.py) computes them.
 *
 * Compared lines: the ground truth's lines that are not empty after stripping, each stripped of leading and
 * trailing whitespace (N of them); and the prediction's first N lines that are not empty after stripping, each
 * stripped. Lines are split at "\n" ("\r" is whitespace and stripped).
 *
 * Exact match (EM): 1 when the prediction has at least N such lines and they equal the ground truth's line by
 * line; else 0 (a prediction with fewer non-empty lines scores 0).
 *
 * Edit similarity (ES): with a and b the compared lines of prediction and ground truth each joined by "\n",
 * ES = 1 - Levenshtein(a, b) / max(|a|, |b|), lengths and distance in Unicode code points, unit cost for
 * insertion, deletion and substitution; ES = 1 when both are empty. RepoCoder reports fuzzywuzzy's
 * fuzz.ratio (an insertion/deletion-only ratio, 2 * matches / (|a| + |b|)) on the same strings; the
 * normalised Levenshtein form is used here, so ES values are close to but not identical with RepoCoder's.
 *
 * Identifier exact match (ID EM, as CrossCodeEval reports it): 1 when the identifiers of the compared lines
 * (names matching [A-Za-z_][A-Za-z0-9_]*, Python and JavaScript/TypeScript keywords left out), in order, are the
 * same in prediction and ground truth; it forgives spacing and punctuation and asks for the right names, which is
 * what repository context is for.
 *
 * Latency percentiles are nearest-rank: the p-th percentile of n sorted values is the value at rank
 * ceil(p / 100 * n) (1-based).
 */
import type { CompletionMode } from "../completion/types";

/** The stripped non-empty lines of both, the prediction's cut to as many as the ground truth has. */
export function comparedLines(
  prediction: string,
  groundTruth: string,
): { prediction: string[]; groundTruth: string[] } {
  const truth = nonEmptyLines(groundTruth);
  return { prediction: nonEmptyLines(prediction).slice(0, truth.length), groundTruth: truth };
}

export function exactMatch(prediction: string, groundTruth: string): boolean {
  const lines = comparedLines(prediction, groundTruth);
  return (
    lines.prediction.length === lines.groundTruth.length &&
    lines.prediction.every((line, i) => line === lines.groundTruth[i])
  );
}

export function editSimilarity(prediction: string, groundTruth: string): number {
  const lines = comparedLines(prediction, groundTruth);
  const a = [...lines.prediction.join("\n")];
  const b = [...lines.groundTruth.join("\n")];
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 1 : 1 - levenshtein(a, b) / longest;
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/g;
const KEYWORDS = new Set(
  (
    "False None True and as assert async await break class continue def del elif else except finally for from global if import in is " +
    "lambda nonlocal not or pass raise return try while with yield case match self " +
    "const let var function new this typeof instanceof void delete throw catch switch default do extends super static " +
    "export interface type enum implements public private protected readonly null undefined true false of"
  ).split(" "),
);

/** The names in a text, in order, keywords left out. */
export function identifiers(text: string): string[] {
  return (text.match(IDENTIFIER) ?? []).filter((name) => !KEYWORDS.has(name));
}

export function identifierMatch(prediction: string, groundTruth: string): boolean {
  const lines = comparedLines(prediction, groundTruth);
  if (lines.prediction.length !== lines.groundTruth.length) return false;
  const a = identifiers(lines.prediction.join("\n"));
  const b = identifiers(lines.groundTruth.join("\n"));
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/** Edit distance with unit costs, over sequences (pass [...string] for code points). */
export function levenshtein<T>(a: readonly T[], b: readonly T[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function nonEmptyLines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
}

/** Nearest-rank percentiles and the mean; all NaN when there are no values. */
export function summarize(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((x, y) => x - y);
  const rank = (p: number) => sorted[Math.max(Math.ceil((p / 100) * sorted.length), 1) - 1] ?? Number.NaN;
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return { count: sorted.length, mean, p50: rank(50), p95: rank(95) };
}

/** One scored completion. */
export interface ScoredCompletion {
  mode: CompletionMode;
  prediction: string;
  groundTruth: string;
  latencyMs: number;
  /** Tokens the generator was given: prompt tokens plus pseudo-tokens. */
  inputTokens: number;
}

export interface ModeSummary {
  mode: CompletionMode;
  count: number;
  /** Means over the completions, in [0, 1]. */
  exactMatch: number;
  editSimilarity: number;
  identifierMatch: number;
  latency: LatencySummary;
  /** Mean tokens the generator was given (prompt plus pseudo-tokens). */
  inputTokens: number;
}

/** Per-mode EM, ES and latency, modes in order of first appearance. */
export function aggregateByMode(results: readonly ScoredCompletion[]): ModeSummary[] {
  const byMode = new Map<CompletionMode, ScoredCompletion[]>();
  for (const result of results) {
    const rows = byMode.get(result.mode);
    if (rows) rows.push(result);
    else byMode.set(result.mode, [result]);
  }
  return [...byMode].map(([mode, rows]) => ({
    mode,
    count: rows.length,
    exactMatch: mean(rows.map((r) => (exactMatch(r.prediction, r.groundTruth) ? 1 : 0))),
    editSimilarity: mean(rows.map((r) => editSimilarity(r.prediction, r.groundTruth))),
    identifierMatch: mean(rows.map((r) => (identifierMatch(r.prediction, r.groundTruth) ? 1 : 0))),
    latency: summarize(rows.map((r) => r.latencyMs)),
    inputTokens: mean(rows.map((r) => r.inputTokens)),
  }));
}

function mean(values: readonly number[]): number {
  return values.reduce((s, x) => s + x, 0) / values.length;
}
