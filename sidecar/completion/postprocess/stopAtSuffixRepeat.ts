import { CLOSERS } from "./brackets";
import { restOfLine } from "./text";

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
    if (
      (k === rest.length || k >= MIN_PARTIAL_REPEAT) &&
      rest.startsWith(tail) &&
      ![...tail].some((c) => CLOSERS.includes(c))
    ) {
      return text.slice(0, lineStart + body.length - k);
    }
  }
  return text;
}
