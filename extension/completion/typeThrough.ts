// Completions served without asking the sidecar: while the user types what is being suggested,
// and when they backspace and retype to a spot that was completed moments ago.
import { createHash } from "node:crypto";

/** The cursor as text around it, so that it survives edits that do not touch it (versions do not). */
export interface Cursor {
  uri: string;
  prefix: string;
  suffix: string;
}

export interface Suggestion extends Cursor {
  text: string;
}

/**
 * The rest of `last` if the user has since typed its beginning and changed nothing else;
 * undefined when the cursor moved elsewhere, the document changed elsewhere, the typed text
 * diverged from the suggestion or used it all up.
 */
export function typeThrough(last: Suggestion | undefined, at: Cursor): string | undefined {
  if (!last || last.uri !== at.uri || last.suffix !== at.suffix) return undefined;
  if (at.prefix.length < last.prefix.length || !at.prefix.startsWith(last.prefix)) return undefined;
  const typed = at.prefix.slice(last.prefix.length);
  return typed.length < last.text.length && last.text.startsWith(typed) ? last.text.slice(typed.length) : undefined;
}

/** Enough text either side of the cursor to tell places apart without hashing whole files. */
const PREFIX_TAIL = 2000;
const SUFFIX_HEAD = 500;

export function cursorKey(at: Cursor): string {
  return createHash("sha1")
    .update(at.uri)
    .update("\0")
    .update(at.prefix.slice(-PREFIX_TAIL))
    .update("\0")
    .update(at.suffix.slice(0, SUFFIX_HEAD))
    .digest("base64");
}

/**
 * The last suggestion (for type-through) and a small LRU of recent completions by cursor, each with
 * its `Source` (the answer that made it, which the panel shows while any of it is on screen).
 */
export class CompletionMemory<Source = void> {
  private last: (Suggestion & { source: Source }) | undefined;
  private readonly recent = new Map<string, { text: string; source: Source }>();

  constructor(private readonly capacity = 64) {}

  /** The completion to show at `at` from memory; `source` then tells where it came from. */
  recall(at: Cursor): string | undefined {
    const rest = typeThrough(this.last, at);
    if (rest !== undefined) return rest;
    this.last = undefined;
    const key = cursorKey(at);
    const remembered = this.recent.get(key);
    if (remembered === undefined) return undefined;
    this.recent.delete(key);
    this.recent.set(key, remembered);
    this.last = { ...at, ...remembered };
    return remembered.text;
  }

  /** The source of the suggestion that recall served last (undefined when it found none). */
  get source(): Source | undefined {
    return this.last?.source;
  }

  remember(at: Cursor, text: string, source: Source): void {
    this.last = { ...at, text, source };
    const key = cursorKey(at);
    this.recent.delete(key);
    this.recent.set(key, { text, source });
    if (this.recent.size > this.capacity) this.recent.delete(this.recent.keys().next().value!);
  }

  /** After a change of mode or model, remembered completions no longer answer the same question. */
  clear(): void {
    this.last = undefined;
    this.recent.clear();
  }
}
