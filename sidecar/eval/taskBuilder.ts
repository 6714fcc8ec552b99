/**
 * Line-completion tasks in the RepoEval format (tasks.ts) built from a repository's own files, as
 * plain functions over file texts; `hef tasks` (cli/tasks.ts) reads the files and writes the tasks.
 * The cursor is at the start of the target line, the prompt is the file before it (futureExcluded)
 * and the ground truth is the line without its line end.
 *
 * A line is a candidate target when:
 *  - at least MIN_PREFIX_LINES lines come before it;
 *  - stripped of surrounding whitespace it has MIN_CHARS to MAX_CHARS characters (so no blank line);
 *  - it is not a comment line: it does not start with the language's line-comment marker
 *    (lineComment), nor, where that marker is `//`, with `/*` or `*` (block comment lines);
 *  - it is not made of closing brackets and punctuation alone (`)`, `});`, `]),`).
 * With cross-file selection it must also use a name (an identifier) that another file of the
 * repository defines and its own file does not, as RepoEval's line tasks favour cross-file API use.
 * Only API definitions count (API_KINDS): a local variable or attribute called `name` in another file
 * does not make every `name` in this one a cross-file use; and lines inside a string literal (a
 * docstring's prose) are not code to complete.
 */
import type { EntityKind } from "../completion/entities";
import { IDENTIFIER, lineComment } from "../languages";
import { Prng } from "../util/prng";
import { futureExcluded } from "./tasks";

export const MIN_PREFIX_LINES = 3;
/** The definitions a cross-file task may use: a repository's API, not its local variables and attributes. */
export const API_KINDS: ReadonlySet<EntityKind> = new Set([
  "class",
  "interface",
  "type",
  "enum",
  "namespace",
  "function",
  "method",
  "constant",
]);
export const MIN_CHARS = 4;
export const MAX_CHARS = 200;

const CLOSING_ONLY = /^[)\]}:;,.\s]*$/;

export interface RepoFile {
  /** Repository-relative, "/"-separated. */
  path: string;
  text: string;
}

export type TaskKind = "line" | "cross-file";

/** One task as `hef tasks` writes it: what parseTasks reads, with the kind and names in metadata. */
export interface TaskRecord {
  prompt: string;
  groundtruth: string;
  metadata: { task_id: string; fpath_tuple: string[]; line_no: number; kind: TaskKind; names: string[] };
}

export interface TaskOptions {
  /** Default 0. */
  seed?: number;
  /** Tasks per file at most; default 10. */
  perFile?: number;
  /** Tasks per repository at most; default 200. */
  perRepo?: number;
  /**
   * Cross-file selection: the names each file defines (extractEntities' `name`), by path. A file
   * missing here (no grammar) gives no cross-file task: what it defines itself is unknown.
   */
  definitions?: ReadonlyMap<string, readonly string[]>;
  /** 0-based lines inside string literals, by path (docstrings): left out of cross-file selection. */
  prose?: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface RepoTasks {
  files: number;
  /** Lines that passed the rules (and the cross-file test when asked). */
  candidates: number;
  /** In file order, then line order; task_id "<repo>/<n>" numbers them in that order. */
  tasks: TaskRecord[];
}

function isCommentLine(path: string, stripped: string): boolean {
  const marker = lineComment(path);
  return stripped.startsWith(marker) || (marker === "//" && (stripped.startsWith("/*") || stripped.startsWith("*")));
}

/** Whether a line (without its line end) may be a target by the rules above, all but the prefix rule. */
export function isCandidateLine(path: string, line: string): boolean {
  const stripped = line.trim();
  return (
    stripped.length >= MIN_CHARS &&
    stripped.length <= MAX_CHARS &&
    !CLOSING_ONLY.test(stripped) &&
    !isCommentLine(path, stripped)
  );
}

/** A file's lines without their line ends ("\n" or "\r\n"); line i is the target of line_no i. */
export function fileLines(text: string): string[] {
  return text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}

/** 0-based numbers of the lines of a file (fileLines) that may be targets. */
export function candidateLines(path: string, lines: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = MIN_PREFIX_LINES; i < lines.length; i++) if (isCandidateLine(path, lines[i]!)) out.push(i);
  return out;
}

/** The names a line uses that the repository defines outside its own file, in order of first use. */
export function crossFileNames(line: string, own: ReadonlySet<string>, repository: ReadonlySet<string>): string[] {
  return [...new Set(line.match(IDENTIFIER) ?? [])].filter((name) => repository.has(name) && !own.has(name));
}

function shuffled<T>(items: readonly T[], prng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.below(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Picks at most perFile items of each group and perRepo in all, spread over the groups: groups take
 * turns in a shuffled order, each giving its next item in its own shuffled order. Each group's
 * order is drawn from its own stream (seeded by `keys[i]`), so it does not depend on the others.
 */
export function spreadSample<T>(
  groups: readonly (readonly T[])[],
  keys: readonly string[],
  seed: string,
  perFile: number,
  perRepo: number,
): T[] {
  const queues = groups.map((items, i) => shuffled(items, new Prng(`${seed}/${keys[i]}`)).slice(0, perFile));
  const turns = shuffled(queues, new Prng(seed));
  const picked: T[] = [];
  for (let round = 0; round < perFile && picked.length < perRepo; round++) {
    for (const queue of turns) {
      if (picked.length === perRepo) break;
      if (round < queue.length) picked.push(queue[round]!);
    }
  }
  return picked;
}

/** The tasks of one repository: its files (sorted by path, as discovery lists them) sampled by the options. */
export function buildRepoTasks(repo: string, files: readonly RepoFile[], options: TaskOptions = {}): RepoTasks {
  const { seed = 0, perFile = 10, perRepo = 200, definitions, prose } = options;
  const repository = new Set([...(definitions?.values() ?? [])].flat());
  const lines = files.map((file) => fileLines(file.text));
  const perFileCandidates = files.map((file, fileIndex) => {
    if (definitions && !definitions.has(file.path)) return [];
    const own = new Set(definitions?.get(file.path) ?? []);
    const inString = prose?.get(file.path);
    return candidateLines(file.path, lines[fileIndex]!)
      .filter((lineNo) => !inString?.has(lineNo))
      .map((lineNo) => ({
        fileIndex,
        lineNo,
        names: definitions ? crossFileNames(lines[fileIndex]![lineNo]!, own, repository) : [],
      }))
      .filter((candidate) => !definitions || candidate.names.length > 0);
  });
  const picked = spreadSample(
    perFileCandidates,
    files.map((file) => file.path),
    `${seed}/${repo}`,
    perFile,
    perRepo,
  ).sort((a, b) => a.fileIndex - b.fileIndex || a.lineNo - b.lineNo);
  const kind: TaskKind = definitions ? "cross-file" : "line";
  const tasks = picked.map(({ fileIndex, lineNo, names }, n): TaskRecord => {
    const file = files[fileIndex]!;
    return {
      prompt: futureExcluded(file.text, lineNo),
      groundtruth: lines[fileIndex]![lineNo]!,
      metadata: { task_id: `${repo}/${n}`, fpath_tuple: [repo, ...file.path.split("/")], line_no: lineNo, kind, names },
    };
  });
  return { files: files.length, candidates: perFileCandidates.reduce((sum, c) => sum + c.length, 0), tasks };
}
