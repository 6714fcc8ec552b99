import { restOfLine } from "./text";

/**
 * Trailing whitespace of every line goes; at the very end too when the completion ends at the end of the
 * cursor's line, but not when text follows on that line (`x = 1 |+ 2`: the space may be meant). Blank → "".
 */
export function trimTrailingWhitespace(text: string, suffix: string): string {
  const lines = text.split("\n");
  const last = lines.length - 1;
  const trimmed = lines
    .map((line, i) => (i < last || restOfLine(suffix).trim() === "" ? line.trimEnd() : line))
    .join("\n");
  const out = restOfLine(suffix).trim() === "" ? trimmed.trimEnd() : trimmed;
  return out.trim() === "" ? "" : out;
}
