/**
 * The indentation an editor types on a new line (auto-indent after Enter) before any completion
 * is asked for. The generator learnt fill-in-the-middle from middles that begin at a line's start,
 * so after a prefix ending in indentation it indents again: ghost text with twice the indentation,
 * which Tab then indents further instead of accepting. The prompt therefore ends at the start of
 * the line, and the completion's own indentation stands in for what the editor typed.
 */
import { currentLine } from "./text";

/** The whitespace between the last line break and the cursor when nothing else is on that part of the line. */
export function typedIndent(prefix: string): string {
  const line = currentLine(prefix);
  return /^[ \t]+$/.test(line) ? line : "";
}

/** The completion as it goes after the typed indentation: the model's indentation for that line is dropped. */
export function afterTypedIndent(completion: string, indent: string): string {
  if (indent === "") return completion;
  if (completion.startsWith(indent)) return completion.slice(indent.length);
  // The model indents otherwise (less, or with tabs): ghost text cannot delete what is typed, and the
  // editor's indentation is usually the right one, so its words follow the typed indentation.
  return completion.replace(/^[ \t]+/, "");
}
