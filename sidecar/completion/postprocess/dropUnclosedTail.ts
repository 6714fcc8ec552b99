import { ownUnclosed } from "./brackets";

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
