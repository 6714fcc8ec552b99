import { brackets, openCounts, unmatchedCloserCounts } from "./brackets";
import { restOfLine } from "./text";

/**
 * Cuts the completion at the first closing bracket that it did not open itself, where the document already
 * closes that bracket: the text after the cursor on the cursor's line holds an unmatched closer of the same
 * kind, and the counts over the whole document (openers left open in the prefix, less closers the suffix
 * supplies) leave none for the completion to close. Typical case: `print(|)` completed as `"hi")`.
 * Both conditions are required because string, comment and regex contents can skew whole-file counts;
 * a closer the document still needs is never cut.
 */
export function cutUnneededClosers(text: string, prefix: string, suffix: string): string {
  const prefixOpen = openCounts(prefix);
  const suffixCloses = unmatchedCloserCounts(suffix);
  const lineCloses = unmatchedCloserCounts(restOfLine(suffix));
  const depth = [0, 0, 0];
  const unopened = [0, 0, 0];
  for (const { index, kind, open } of brackets(text)) {
    if (open) depth[kind]!++;
    else if (depth[kind]! > 0) depth[kind]!--;
    else if (++unopened[kind]! > prefixOpen[kind]! - suffixCloses[kind]! && lineCloses[kind]! > 0)
      return text.slice(0, index);
  }
  return text;
}
