import { currentLine } from "./text";

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
