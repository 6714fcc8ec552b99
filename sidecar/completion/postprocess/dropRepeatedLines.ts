import { ownUnclosed } from "./brackets";
import { nonBlank } from "./text";

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
