// Speculative next (llama.vscode does the same): once a suggestion is shown, the sidecar computes
// in the background the completion that would follow accepting it (hef/speculate), and accepting it,
// or typing it to its end, finds that next suggestion here instead of asking. One speculation at a
// time, for the suggestion shown last: it answers only the exact document and cursor that accepting
// makes, and anything else the user does (typing elsewhere, moving the cursor, another file) drops
// it and stops its request, as does the sidecar stopping.
import { typeThrough, type Cursor, type Suggestion } from "./typeThrough";

/** What accepting `shown` makes: its text inserted at the cursor, the cursor after it. */
export function accepted(shown: Suggestion): Cursor {
  return { uri: shown.uri, prefix: shown.prefix + shown.text, suffix: shown.suffix };
}

const same = (a: Cursor, b: Cursor): boolean =>
  a.uri === b.uri &&
  a.prefix.length === b.prefix.length &&
  a.suffix.length === b.suffix.length &&
  a.prefix === b.prefix &&
  a.suffix === b.suffix;

interface Pending<Next> {
  shown: Suggestion;
  /** The completion after accepting; undefined when the answer was blank, stopped or failed. */
  next: Promise<Next | undefined>;
  /** Cancels the request while it runs. */
  stop: () => void;
}

export class Speculation<Next> {
  private current: Pending<Next> | undefined;

  /** Whether a speculation for `shown` already runs or waits (typing through a suggestion keeps it). */
  covers(shown: Suggestion): boolean {
    return this.current !== undefined && same(accepted(this.current.shown), accepted(shown));
  }

  /** Speculates after `shown` with the sidecar's answer `next`, replacing (and stopping) the one before; `stop` cancels its request. */
  begin(shown: Suggestion, next: Promise<Next | undefined>, stop: () => void): void {
    this.clear();
    this.current = { shown, next, stop };
  }

  /**
   * When `at` is exactly what accepting the shown suggestion made: the next completion, answered
   * already or still on its way (accepting soon after the suggestion showed waits for it rather
   * than asking again). On the way there (the suggestion's own cursor, part of it typed) the
   * speculation is kept; anywhere else it is dropped and its request stopped.
   */
  recall(at: Cursor): Promise<Next | undefined> | undefined {
    const pending = this.current;
    if (!pending) return undefined;
    if (same(at, accepted(pending.shown))) return pending.next;
    if (typeThrough(pending.shown, at) === undefined) this.clear();
    return undefined;
  }

  /** Drops the speculation and stops its request. */
  clear(): void {
    this.current?.stop();
    this.current = undefined;
  }
}
