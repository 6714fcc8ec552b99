/**
 * Windows over the text around the cursor that stay put while the user types, so that the generator can reuse
 * the KV cache of the previous request. The paper embeds "the last 512 tokens of the prefix"; a window that
 * literally ends at the cursor and has a fixed length starts one character later at every keystroke, and every
 * position after its start would have to be decoded again. Here the start only moves when the text has grown
 * by a whole `step`, and then to a line start, so between those moves the prompt only grows at its end.
 */

/**
 * Start offset of a tail window of `text` of at most `maxChars` characters.
 *
 * With n = text.length > maxChars and b = floor((n - maxChars) / step), the earliest allowed start is
 * q = (b + 1) * step (so n - q < maxChars for every n of the same b). The window starts at the first line start
 * in [q, q + step), or at q itself when a line runs across that whole range (one very long line). Requiring
 * 2 * step <= maxChars puts q + step below n, so the start depends only on b and on text before q + step:
 * appending text, or editing text before q - 1 without changing the length, leaves it where it is. The
 * window is at least maxChars - 2 * step characters long.
 */
export function stableTail(text: string, maxChars: number, step: number): number {
  checkWindow(maxChars, step);
  if (text.length <= maxChars) return 0;
  const q = (Math.floor((text.length - maxChars) / step) + 1) * step;
  const newline = text.indexOf("\n", q - 1);
  return newline !== -1 && newline + 1 < q + step ? newline + 1 : q;
}

/**
 * End offset of a head window of `text` of at most `maxChars` characters, after the last complete line that
 * fits (or at maxChars when the first line alone is longer). It depends on the text alone, and the text after
 * the cursor does not change while the user types before it.
 */
export function stableHead(text: string, maxChars: number): number {
  if (text.length <= maxChars) return text.length;
  const newline = text.lastIndexOf("\n", maxChars - 1);
  return newline === -1 ? maxChars : newline + 1;
}

/** Tokens dropped from the front of an over-long window come in multiples of this. */
export const TOKEN_STEP = 64;

/**
 * At most `max` tokens from the end, cut at a multiple of `step` from the front: the last resort when
 * a character window still tokenizes to too many. A plain "last max tokens" would start one token
 * later after every keystroke; this start stays put until `step` more tokens were typed.
 */
export function tailTokens(tokens: Int32Array, max: number, step = TOKEN_STEP): Int32Array {
  if (tokens.length <= max) return tokens;
  const limit = Math.max(max, 0);
  return tokens.subarray(
    Math.min(tokens.length - limit + ((step - ((tokens.length - limit) % step)) % step), tokens.length),
  );
}

/** The first `max` tokens. */
export function headTokens(tokens: Int32Array, max: number): Int32Array {
  return tokens.length <= max ? tokens : tokens.subarray(0, Math.max(max, 0));
}

function checkWindow(maxChars: number, step: number): void {
  if (!Number.isInteger(maxChars) || !Number.isInteger(step) || step < 1 || 2 * step > maxChars) {
    throw new RangeError(
      `window needs integers with 1 <= step and 2 * step <= maxChars, got maxChars ${maxChars}, step ${step}`,
    );
  }
}
