/**
 * Token-budget rules shared by the syntax and the line chunker.
 *
 * Both chunkers cut a file into contiguous, ordered "pieces" (UTF-16 index ranges of the file's text, each with its
 * exact token count and at most maxTokens), then `packPieces` merges neighbours into groups and `materialize` turns
 * the groups into Chunks: whitespace at a chunk's edges is trimmed, the final text is counted once more and any
 * chunk still over the budget (token counts are not exactly additive) is split again, so no chunk exceeds maxTokens.
 */
import { contentHash, type Chunk, type TokenCounter } from "./chunk";

export interface Budget {
  /** Hard limit: no chunk has more tokens than this. */
  maxTokens: number;
  /** Units below this are merged with their neighbours while the merge stays within maxTokens. */
  minTokens: number;
}

export const DEFAULT_MAX_TOKENS = 512;
export const DEFAULT_MIN_TOKENS = 48;

/** A contiguous range [start, end) of the file's text (UTF-16 indices) with its token count. */
export interface Piece {
  start: number;
  end: number;
  tokens: number;
  /** A semantic unit (function, method, class...): packed on its own unless tiny. */
  unit: boolean;
}

/** A file's text with a line index. Lines are 0-based here; Chunk lines are 1-based. */
export class SourceText {
  readonly lineStarts: number[];
  /** True when the text is pure ASCII, so UTF-8 byte offsets equal string indices. */
  readonly ascii: boolean;

  constructor(readonly text: string) {
    const starts = [0];
    let i = text.indexOf("\n");
    while (i !== -1) {
      starts.push(i + 1);
      i = text.indexOf("\n", i + 1);
    }
    this.lineStarts = starts;
    // eslint-disable-next-line no-control-regex
    this.ascii = !/[^\x00-\x7f]/.test(text);
  }

  /** 0-based line of a string index. */
  lineOf(index: number): number {
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of the start of the line that holds `index`. */
  lineStartAt(index: number): number {
    return this.lineStarts[this.lineOf(index)]!;
  }
}

export function isWhitespaceCode(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xfeff || c === 0xa0;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isWhitespaceCode(text.charCodeAt(i))) return false;
  return true;
}

/** Never cut between the two halves of a surrogate pair. */
function safeCut(text: string, index: number, lo: number): number {
  if (index > lo && index < text.length) {
    const c = text.charCodeAt(index - 1);
    if (c >= 0xd800 && c <= 0xdbff) return index - 1 > lo ? index - 1 : index + 1;
  }
  return index;
}

const SOFT_BREAK = /[\s;,{}()[\]]/;

/**
 * Splits [start, end) (typically one very long line, e.g. minified code) into pieces of at most `maxTokens`,
 * preferring to cut after whitespace or punctuation. The window size is estimated from the characters-per-token
 * ratio seen so far and verified by counting, so each piece is counted about once.
 */
export function splitInsideLine(
  src: SourceText,
  start: number,
  end: number,
  count: TokenCounter,
  maxTokens: number,
): Piece[] {
  const text = src.text;
  const pieces: Piece[] = [];
  const total = count(text.slice(start, end));
  if (total <= maxTokens) return [{ start, end, tokens: total, unit: false }];
  let ratio = Math.max((end - start) / Math.max(total, 1), 0.25);
  let pos = start;
  while (pos < end) {
    const window = Math.max(1, Math.floor(maxTokens * ratio * 0.9));
    if (end - pos <= window) {
      const rest = count(text.slice(pos, end));
      if (rest <= maxTokens) {
        pieces.push({ start: pos, end, tokens: rest, unit: false });
        break;
      }
    }
    let cut = Math.min(end, pos + window);
    if (cut < end) {
      // Prefer a soft break in the last 30% of the window.
      const floor = pos + Math.floor(window * 0.7);
      for (let i = cut; i > floor; i--) {
        if (SOFT_BREAK.test(text[i - 1]!)) {
          cut = i;
          break;
        }
      }
    }
    cut = safeCut(text, cut, pos);
    let tokens = count(text.slice(pos, cut));
    while (tokens > maxTokens && cut - pos > 1) {
      cut = safeCut(text, pos + Math.max(1, Math.floor(((cut - pos) * maxTokens * 0.9) / tokens)), pos);
      tokens = count(text.slice(pos, cut));
    }
    pieces.push({ start: pos, end: cut, tokens, unit: false });
    if (tokens > 0) ratio = Math.max((cut - pos) / tokens, 0.25);
    pos = cut;
  }
  return pieces;
}

interface LineAtom extends Piece {
  /** How good a place the start of this atom is to begin a chunk: 4 top-level after a blank line ... -1 inside a line. */
  score: number;
  blank: boolean;
}

function indentOf(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) n += 1;
    else if (c === 9) n += 4;
    else break;
  }
  return n;
}

const CLOSER = /^[\s]*[)\]}>]/;

/**
 * Line-based splitting of [start, end) into pieces of at most maxTokens. Each piece is filled up to the budget,
 * cutting at the best place in its second half: after a blank line, else before a top-level line, else at an
 * indentation decrease. Lines over the budget are split inside the line.
 */
export function splitLines(src: SourceText, start: number, end: number, count: TokenCounter, budget: Budget): Piece[] {
  const text = src.text;
  const max = budget.maxTokens;
  const atoms: LineAtom[] = [];
  const blankCounts = new Map<string, number>();
  let prevIndent = 0;
  let prevBlank = true;
  let lineStart = start;
  while (lineStart < end) {
    const nl = text.indexOf("\n", lineStart);
    const lineEnd = nl === -1 || nl >= end ? end : nl + 1;
    const blank = isBlank(text, lineStart, lineEnd);
    let tokens: number;
    const lineText = text.slice(lineStart, lineEnd);
    if (blank) {
      tokens = blankCounts.get(lineText) ?? count(lineText);
      blankCounts.set(lineText, tokens);
    } else {
      tokens = count(lineText);
    }
    let score = 0;
    let indent = prevIndent;
    if (!blank) {
      indent = indentOf(text, lineStart, lineEnd);
      // 4: a top-level line after a blank line ... 1: an indentation decrease; 0: a closing bracket or else.
      if (!CLOSER.test(lineText)) score = (prevBlank ? 2 : 0) + (indent === 0 ? 2 : indent < prevIndent ? 1 : 0);
    }
    if (tokens <= max) {
      atoms.push({ start: lineStart, end: lineEnd, tokens, unit: false, score, blank });
    } else {
      const parts = splitInsideLine(src, lineStart, lineEnd, count, max);
      parts.forEach((p, i) => atoms.push({ ...p, score: i === 0 ? score : -1, blank: false }));
    }
    if (!blank) prevIndent = indent;
    prevBlank = blank;
    lineStart = lineEnd;
  }

  const pieces: Piece[] = [];
  let i = 0;
  while (i < atoms.length) {
    let acc = 0;
    let j = i;
    while (j < atoms.length && acc + atoms[j]!.tokens <= max) acc += atoms[j++]!.tokens;
    if (j === i) j = i + 1; // cannot happen: every atom is within the budget
    let cut = j;
    if (j < atoms.length) {
      let bestScore = atoms[j]!.score;
      let before = acc; // tokens of atoms[i..k)
      for (let k = j - 1; k > i; k--) {
        before -= atoms[k]!.tokens;
        if (before < max * 0.5) break;
        if (atoms[k]!.score > bestScore) {
          bestScore = atoms[k]!.score;
          cut = k;
        }
      }
    }
    let tokens = 0;
    for (let k = i; k < cut; k++) tokens += atoms[k]!.tokens;
    pieces.push({ start: atoms[i]!.start, end: atoms[cut - 1]!.end, tokens, unit: false });
    i = cut;
  }
  return pieces;
}

/**
 * Greedy packing of ordered pieces into groups of at most maxTokens (by summed counts):
 * consecutive non-unit pieces (statements, lines) are packed into runs; a unit of at least minTokens is kept
 * apart from other such units and runs, and only merges with tiny neighbours (below minTokens).
 * `reserve` tokens are kept free in the first group (for a header that the caller merges in front of it).
 * A tiny last group (a closing brace...) takes the last piece of the group before it where that fits.
 */
export function packPieces(pieces: readonly Piece[], budget: Budget, reserve = 0): Piece[][] {
  const { maxTokens: max, minTokens: min } = budget;
  const groups: Piece[][] = [];
  let group: Piece[] = [];
  let total = 0;
  let hasBigUnit = false;
  for (const p of pieces) {
    const big = p.unit && p.tokens >= min;
    if (group.length > 0) {
      const limit = groups.length === 0 ? max - reserve : max;
      const fits = total + p.tokens <= limit;
      const tiny = total < min || p.tokens < min;
      const merge = fits && (tiny || (!big && !hasBigUnit));
      if (!merge) {
        groups.push(group);
        group = [];
        total = 0;
        hasBigUnit = false;
      }
    }
    group.push(p);
    total += p.tokens;
    hasBigUnit ||= big;
  }
  if (group.length > 0) {
    const previous = groups[groups.length - 1];
    const moved = previous && previous.length > 1 ? previous[previous.length - 1]! : undefined;
    if (total < min && moved && moved.tokens + total <= max) {
      previous!.pop();
      group.unshift(moved);
    }
    groups.push(group);
  }
  return groups;
}

/** Shrinks [start, end) to exclude surrounding whitespace, keeping the indentation of the first line. */
export function trimRange(text: string, start: number, end: number): [number, number] {
  let s = start;
  while (s < end && isWhitespaceCode(text.charCodeAt(s))) s++;
  if (s === end) return [end, end];
  let e = end;
  while (e > s && isWhitespaceCode(text.charCodeAt(e - 1))) e--;
  // Keep the first line's indentation: step back over spaces/tabs up to the line start (within the range).
  let b = s;
  while (b > start && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  if (b === start || text.charCodeAt(b - 1) === 10) s = b;
  return [s, e];
}

/**
 * Turns groups of pieces into Chunks (in order). Each chunk's trimmed text is counted exactly; a chunk over
 * maxTokens is split again (between its pieces, else by lines, else inside lines).
 */
export function materialize(
  src: SourceText,
  path: string,
  groups: readonly Piece[][],
  count: TokenCounter,
  budget: Budget,
): Chunk[] {
  const ranges: Array<{ start: number; end: number; tokens: number }> = [];
  const text = src.text;

  const emit = (pieces: readonly Piece[], limit: number, depth: number): void => {
    const first = pieces[0];
    const last = pieces[pieces.length - 1];
    if (!first || !last) return;
    const [s, e] = trimRange(text, first.start, last.end);
    if (s >= e) return;
    const tokens = count(text.slice(s, e));
    if (tokens <= budget.maxTokens) {
      ranges.push({ start: s, end: e, tokens });
      return;
    }
    if (pieces.length > 1) {
      // Split between pieces where the running count crosses half.
      const sum = pieces.reduce((n, p) => n + p.tokens, 0);
      let acc = 0;
      let k = 1;
      for (; k < pieces.length - 1; k++) {
        acc += pieces[k - 1]!.tokens;
        if (acc >= sum / 2) break;
      }
      emit(pieces.slice(0, k), limit, depth);
      emit(pieces.slice(k), limit, depth);
      return;
    }
    // A single piece whose trimmed text still counts over the budget: split it with a tighter limit.
    const tighter = Math.max(1, Math.floor(limit * 0.9));
    const sub =
      depth === 0
        ? splitLines(src, s, e, count, { maxTokens: tighter, minTokens: 0 })
        : splitInsideLine(src, s, e, count, tighter);
    if (sub.length <= 1 && e - s <= 1) {
      ranges.push({ start: s, end: e, tokens }); // a single character over the budget: nothing smaller exists
      return;
    }
    for (const p of sub) emit([p], tighter, depth + 1);
  };

  for (const g of groups) emit(g, budget.maxTokens, 0);

  // Lines and UTF-8 byte offsets, computed incrementally over the ordered ranges.
  const chunks: Chunk[] = [];
  let byteAt = 0;
  let indexAt = 0;
  const byteOffset = (index: number): number => {
    if (src.ascii) return index;
    byteAt += Buffer.byteLength(text.slice(indexAt, index), "utf8");
    indexAt = index;
    return byteAt;
  };
  for (const r of ranges) {
    const chunkText = text.slice(r.start, r.end);
    const startByte = byteOffset(r.start);
    const endByte = byteOffset(r.end);
    chunks.push({
      path,
      startLine: src.lineOf(r.start) + 1,
      endLine: src.lineOf(r.end - 1) + 1,
      startByte,
      endByte,
      text: chunkText,
      hash: contentHash(chunkText),
      tokens: r.tokens,
    });
  }
  return chunks;
}
