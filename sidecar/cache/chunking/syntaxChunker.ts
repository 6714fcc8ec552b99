/**
 * AST-aware chunking of a parsed file.
 *
 * The file is cut into contiguous segments along the syntax tree: top-level nodes first (comments go with the node
 * they document), and any segment over the token budget is cut again along its own children (a class into its
 * header and members, a function into its header and body statements...) down to leaves, which are split by lines.
 * The resulting pieces are packed by the shared budget rules: units (functions, methods, classes) stand alone
 * unless tiny, runs of other statements are packed together.
 */
import type { Node } from "web-tree-sitter";
import type { Chunk, TokenCounter } from "./chunk";
import { isWhitespaceCode, materialize, packPieces, splitLines, SourceText, type Budget, type Piece } from "./budget";
import { isCommentType, type LanguageSpec } from "../../languages";

interface Segment {
  start: number;
  end: number;
  /** The node the segment is about; undefined for a run of comments only. */
  main?: Node;
  /** Comments before `main` that belong to it (doc comments); they start the segment. */
  leadEnd?: number;
  unit: boolean;
}

function isBlankRange(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isWhitespaceCode(text.charCodeAt(i))) return false;
  return true;
}

function isUnit(node: Node, spec: LanguageSpec): boolean {
  if (spec.units.has(node.type)) return true;
  return spec.wrappers.has(node.type) && holdsUnit(node, spec, 3);
}

function holdsUnit(node: Node, spec: LanguageSpec, depth: number): boolean {
  const n = Math.min(node.namedChildCount, 8);
  for (let i = 0; i < n; i++) {
    const child = node.namedChild(i);
    if (!child) continue;
    if (spec.units.has(child.type)) return true;
    if (depth > 1 && spec.wrappers.has(child.type) && holdsUnit(child, spec, depth - 1)) return true;
  }
  return false;
}

/** Cuts [start, end) into contiguous segments, one per child (with its comments); the cuts fall at line starts where possible. */
function segmentsOf(
  src: SourceText,
  start: number,
  end: number,
  children: readonly Node[],
  spec: LanguageSpec,
): Segment[] {
  interface Group {
    start: number;
    end: number;
    main?: Node;
    leadEnd?: number;
  }
  const groups: Group[] = [];
  let pending: Node[] = [];
  for (const child of children) {
    if (child.startIndex === child.endIndex) continue; // MISSING nodes and other empty tokens
    if (isCommentType(child.type)) {
      const prev = groups[groups.length - 1];
      // A comment on the line where the previous node ends is a trailing comment of that node.
      if (prev && pending.length === 0 && src.lineOf(child.startIndex) === src.lineOf(prev.end - 1)) {
        prev.end = child.endIndex;
      } else {
        pending.push(child);
      }
      continue;
    }
    const first = pending[0];
    const lastComment = pending[pending.length - 1];
    groups.push({
      start: first ? first.startIndex : child.startIndex,
      end: child.endIndex,
      main: child,
      leadEnd: lastComment?.endIndex,
    });
    pending = [];
  }
  if (pending.length > 0) {
    const prev = groups[groups.length - 1];
    const lastComment = pending[pending.length - 1]!;
    if (prev) prev.end = lastComment.endIndex;
    else groups.push({ start: pending[0]!.startIndex, end: lastComment.endIndex });
  }
  if (groups.length === 0) return [{ start, end, unit: false }];

  const segments: Segment[] = [];
  let cut = start;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const next = groups[i + 1];
    let nextCut = end;
    if (next) {
      const lineStart = src.lineStartAt(next.start);
      nextCut = lineStart >= g.end ? lineStart : next.start;
      if (nextCut < cut) nextCut = cut; // overlapping nodes (should not happen): keep the cuts ordered
    }
    segments.push({
      start: cut,
      end: nextCut,
      main: g.main,
      leadEnd: g.leadEnd,
      unit: g.main !== undefined && isUnit(g.main, spec),
    });
    cut = nextCut;
  }
  return segments;
}

/**
 * Below this depth of the syntax tree a segment too big for the budget is cut by lines instead of along its
 * children: the recursion would otherwise follow any nesting a file has (3,000 parentheses overflowed the
 * stack), and code nested this deep has no structure worth keeping in its chunks.
 */
export const MAX_SYNTAX_DEPTH = 200;

export interface SyntaxChunkInput {
  src: SourceText;
  path: string;
  root: Node;
  spec: LanguageSpec;
  count: TokenCounter;
  budget: Budget;
}

export function chunkSyntaxTree({ src, path, root, spec, count, budget }: SyntaxChunkInput): Chunk[] {
  const text = src.text;
  if (text.length === 0) return [];
  const max = budget.maxTokens;

  // Segments much longer than the budget (judged by a sample's characters per token) are not counted but split
  // straight away: this keeps counting linear even for deeply nested code such as minified bundles.
  const sample = text.slice(0, 16384);
  const sampleTokens = count(sample);
  const charsPerToken = sampleTokens > 0 ? Math.max(sample.length / sampleTokens, 1) : 4;
  const countLimit = Math.ceil(max * charsPerToken * 3);

  /**
   * The pieces of one segment, `reserve` tokens (a tiny header that will be merged in front of them) kept free in
   * the first. A segment over the budget is cut along its children. A unit's parts are packed among themselves
   * (so a split class keeps its header with its first members and never mixes with its neighbours) and come back
   * as packed units; other segments (a class body, a block, a long statement) hand their parts up unpacked, to be
   * packed together with the header of the unit above or the statements around them.
   */
  const piecesOf = (seg: Segment, reserve: number, depth: number): Piece[] => {
    if (seg.start >= seg.end) return [];
    if (seg.end - seg.start <= countLimit) {
      const tokens = count(text.slice(seg.start, seg.end));
      if (tokens <= max) return [{ start: seg.start, end: seg.end, tokens, unit: seg.unit }];
    }
    const main = seg.main;
    let parts: Piece[];
    if (main && seg.end > main.endIndex && !isBlankRange(text, main.endIndex, seg.end)) {
      // Too big with trailing comments: they become a piece of their own, the node may still fit.
      parts = piecesOfAll(
        [
          { ...seg, end: main.endIndex },
          { start: main.endIndex, end: seg.end, unit: false },
        ],
        reserve,
        depth + 1,
      );
    } else if (main && seg.leadEnd !== undefined) {
      // Too big with its doc comments: the comments go with the first part of the node.
      const lineStart = src.lineStartAt(main.startIndex);
      const cut = lineStart >= seg.leadEnd && lineStart > seg.start ? lineStart : main.startIndex;
      parts = piecesOfAll(
        [
          { start: seg.start, end: cut, unit: false },
          { start: cut, end: seg.end, main, unit: seg.unit },
        ],
        reserve,
        depth + 1,
      );
    } else if (main && main.childCount > 0 && depth < MAX_SYNTAX_DEPTH) {
      parts = piecesOfAll(segmentsOf(src, seg.start, seg.end, main.children, spec), seg.unit ? 0 : reserve, depth + 1);
    } else {
      return splitLines(src, seg.start, seg.end, count, budget).map((p) => ({ ...p, unit: seg.unit }));
    }
    if (!seg.unit) return parts;
    return packPieces(parts, budget, reserve).map((group) => ({
      start: group[0]!.start,
      end: group[group.length - 1]!.end,
      tokens: group.reduce((n, p) => n + p.tokens, 0),
      unit: true,
    }));
  };

  /** Pieces of consecutive segments; each is told the tokens of the tiny pieces just before it (its header). */
  const piecesOfAll = (segs: readonly Segment[], reserve: number, depth: number): Piece[] => {
    const out: Piece[] = [];
    let tail = reserve; // tokens of the trailing run of pieces that stays below minTokens (merges forward)
    for (const seg of segs) {
      const pieces = piecesOf(seg, tail < budget.minTokens ? tail : 0, depth);
      for (const p of pieces) {
        out.push(p);
        tail =
          tail + p.tokens < budget.minTokens
            ? tail + p.tokens
            : p.tokens < budget.minTokens
              ? p.tokens
              : budget.minTokens;
      }
    }
    return out;
  };

  const pieces = piecesOfAll(segmentsOf(src, 0, text.length, root.children, spec), 0, 0);
  const groups = packPieces(pieces, budget);
  return materialize(src, path, groups, count, budget);
}
