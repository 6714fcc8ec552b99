// Brackets outside string literals, counted without knowing the language: what the filters that
// cut closers or unfinished tails need to know of a completion and the document around it.

const OPENERS = "([{";
export const CLOSERS = ")]}";

export interface Bracket {
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
export function* brackets(text: string): Generator<Bracket> {
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
export function openCounts(text: string): number[] {
  const depth = [0, 0, 0];
  for (const { kind, open } of brackets(text)) depth[kind] = open ? depth[kind]! + 1 : Math.max(depth[kind]! - 1, 0);
  return depth;
}

/** Closers of each kind that close nothing opened in the text itself (they close something before it). */
export function unmatchedCloserCounts(text: string): number[] {
  const depth = [0, 0, 0];
  const unmatched = [0, 0, 0];
  for (const { kind, open } of brackets(text)) {
    if (open) depth[kind]!++;
    else if (depth[kind]! > 0) depth[kind]!--;
    else unmatched[kind]!++;
  }
  return unmatched;
}

export function ownUnclosed(text: string): number {
  return openCounts(text).reduce((a, b) => a + b, 0);
}
