/**
 * Post-processing of a generated completion before it is shown: small pure filters, composed by postProcess.
 * The model sees the prefix (and with FIM the suffix) but still tends to run on past the line, to write again
 * what already follows the cursor, and to stop mid-construct at the token limit; each filter removes one of
 * those. Every filter only ever cuts text away: none adds or rewrites characters.
 */

export interface PostProcessContext {
  /** The document's text before and after the cursor. */
  prefix: string;
  suffix: string;
  singleLine: boolean;
  /** The generator stopped at its token limit, so the completion may end mid-construct. */
  truncated?: boolean;
}

export function postProcess(text: string, context: PostProcessContext): string {
  const { prefix, suffix } = context;
  let out = context.singleLine ? firstLine(text, prefix) : text;
  out = cutUnneededClosers(out, prefix, suffix);
  out = stopAtSuffixRepeat(out, suffix);
  if (!context.singleLine) {
    out = dropRepeatedLines(out, suffix);
    if (context.truncated) out = dropUnclosedTail(out);
  }
  return trimTrailingWhitespace(out, suffix);
}

/**
 * Single-line mode: the completion up to its first line break. A completion that starts with a line break (the
 * model ends the cursor's line as it is and goes on below) would then be empty, so its first non-blank line is
 * taken instead:
 * - when the cursor's line has text before the cursor, that line is complete and the completion is the next
 *   line, kept with one line break in front of it, which is what the model meant;
 * - when the cursor's line is blank, the cursor already stands on the empty line the model asked for, so the
 *   line goes there without the break, less the indentation already typed before the cursor.
 */
export function firstLine(text: string, prefix: string): string {
  const lines = text.split("\n");
  if (lines[0]!.trim() !== "") return lines[0]!;
  const next = lines.find((line) => line.trim() !== "");
  if (next === undefined) return "";
  const cursorLine = currentLine(prefix);
  if (cursorLine.trim() !== "") return `\n${next}`;
  return next.startsWith(cursorLine) ? next.slice(cursorLine.length) : next.trimStart();
}

const OPENERS = "([{";
const CLOSERS = ")]}";

/**
 * Cuts the completion at the first closing bracket that it did not open itself, where the document already
 * closes that bracket: the text after the cursor on the cursor's line holds an unmatched closer of the same
 * kind, and the counts over the whole document (openers left open in the prefix, less closers the suffix
 * supplies) leave none for the completion to close. Typical case: `print(|)` completed as `"hi")`.
 * Both conditions are required because string, comment and regex contents can skew whole-file counts;
 * a closer the document still needs is never cut.
 */
export function cutUnneededClosers(text: string, prefix: string, suffix: string): string {
  const prefixOpen = openCounts(prefix);
  const suffixCloses = unmatchedCloserCounts(suffix);
  const lineCloses = unmatchedCloserCounts(restOfLine(suffix));
  const depth = [0, 0, 0];
  const unopened = [0, 0, 0];
  for (const { index, kind, open } of brackets(text)) {
    if (open) depth[kind]!++;
    else if (depth[kind]! > 0) depth[kind]!--;
    else if (++unopened[kind]! > prefixOpen[kind]! - suffixCloses[kind]! && lineCloses[kind]! > 0) return text.slice(0, index);
  }
  return text;
}

/** Completions shorter than this that repeat only the start of the rest of the line are left alone. */
const MIN_PARTIAL_REPEAT = 4;

/**
 * Removes the end of the completion's last line where it repeats the text after the cursor on its line: the
 * whole rest of the line (`;` after `foo()` when `;` follows the cursor), or at least MIN_PARTIAL_REPEAT
 * characters of its start. A repeat that includes a closing bracket is left to cutUnneededClosers, which
 * knows whether the completion opened it.
 */
export function stopAtSuffixRepeat(text: string, suffix: string): string {
  const rest = restOfLine(suffix).trim();
  const lineStart = text.lastIndexOf("\n") + 1;
  const body = text.slice(lineStart).trimEnd();
  for (let k = Math.min(body.length, rest.length); k >= 1; k--) {
    const tail = body.slice(body.length - k);
    if ((k === rest.length || k >= MIN_PARTIAL_REPEAT) && rest.startsWith(tail) && ![...tail].some((c) => CLOSERS.includes(c))) {
      return text.slice(0, lineStart + body.length - k);
    }
  }
  return text;
}

/**
 * Drops the completion's last lines when they are the lines that follow the cursor's line in the document
 * (compared stripped, blank lines ignored): typically a closing `}` or `return` written again. The first line
 * is always kept, and lines are only dropped when that does not leave brackets the completion opened unclosed
 * (a completion that writes a whole block ends with its own `}` even when the next line is another `}`).
 */
export function dropRepeatedLines(text: string, suffix: string): string {
  const lines = text.split("\n");
  const following = nonBlank(suffix.split("\n").slice(1));
  const unclosed = ownUnclosed(text);
  for (let i = 1; i < lines.length; i++) {
    const tail = nonBlank(lines.slice(i));
    if (tail.length === 0 || tail.length > following.length) continue;
    const kept = lines.slice(0, i).join("\n");
    if (tail.every((line, j) => line === following[j]) && ownUnclosed(kept) <= unclosed) return kept;
  }
  return text;
}

/**
 * A multi-line completion cut off by the token limit ends in an unfinished line and often inside brackets it
 * opened: it is cut back to the end of its last complete line at which all of its own brackets are closed. When
 * there is no such line (one statement spans the whole completion) it is left as it is.
 */
export function dropUnclosedTail(text: string): string {
  const lastBreak = text.lastIndexOf("\n");
  if (lastBreak === -1) return text;
  let cut = -1;
  for (let end = text.indexOf("\n"); end !== -1 && end <= lastBreak; end = text.indexOf("\n", end + 1)) {
    if (ownUnclosed(text.slice(0, end)) === 0) cut = end;
  }
  return cut === -1 ? text : text.slice(0, cut);
}

/**
 * Trailing whitespace of every line goes; at the very end too when the completion ends at the end of the
 * cursor's line, but not when text follows on that line (`x = 1 |+ 2`: the space may be meant). Blank → "".
 */
export function trimTrailingWhitespace(text: string, suffix: string): string {
  const lines = text.split("\n");
  const last = lines.length - 1;
  const trimmed = lines.map((line, i) => (i < last || restOfLine(suffix).trim() === "" ? line.trimEnd() : line)).join("\n");
  const out = restOfLine(suffix).trim() === "" ? trimmed.trimEnd() : trimmed;
  return out.trim() === "" ? "" : out;
}

// --- helpers ------------------------------------------------------------------------------------------------

function currentLine(prefix: string): string {
  return prefix.slice(prefix.lastIndexOf("\n") + 1);
}

function restOfLine(suffix: string): string {
  const newline = suffix.indexOf("\n");
  return newline === -1 ? suffix : suffix.slice(0, newline);
}

function nonBlank(lines: readonly string[]): string[] {
  return lines.map((line) => line.trim()).filter((line) => line !== "");
}

interface Bracket {
  index: number;
  /** 0: (), 1: [], 2: {}. */
  kind: number;
  open: boolean;
}

/**
 * The brackets of a text outside string literals. Quotes are tracked roughly, without knowing the language:
 * ' and " strings end at the line's end (so an apostrophe in a comment costs at most the rest of its line),
 * ` strings may span lines, and a backslash escapes the next character inside a string.
 */
function* brackets(text: string): Generator<Bracket> {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== "") {
      if (c === "\\") i++;
      else if (c === quote || (c === "\n" && quote !== "`")) quote = "";
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      quote = c;
      continue;
    }
    const opener = OPENERS.indexOf(c);
    if (opener !== -1) yield { index: i, kind: opener, open: true };
    const closer = CLOSERS.indexOf(c);
    if (closer !== -1) yield { index: i, kind: closer, open: false };
  }
}

/** Openers of each kind left open at the end (closers without an opener are ignored). */
function openCounts(text: string): number[] {
  const depth = [0, 0, 0];
  for (const { kind, open } of brackets(text)) depth[kind] = open ? depth[kind]! + 1 : Math.max(depth[kind]! - 1, 0);
  return depth;
}

/** Closers of each kind that close nothing opened in the text itself (they close something before it). */
function unmatchedCloserCounts(text: string): number[] {
  const depth = [0, 0, 0];
  const unmatched = [0, 0, 0];
  for (const { kind, open } of brackets(text)) {
    if (open) depth[kind]!++;
    else if (depth[kind]! > 0) depth[kind]!--;
    else unmatched[kind]!++;
  }
  return unmatched;
}

function ownUnclosed(text: string): number {
  return openCounts(text).reduce((a, b) => a + b, 0);
}
