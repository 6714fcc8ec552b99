// Whether the cursor stands on an empty line: the text before it on its line is indentation at most, and
// so is the text after it. There the user waits for a line, so the generator's "nothing goes here" is
// no answer (engine.ts); at column 0 of a line with code, or after code, it may well be the right one.
import { currentLine, restOfLine } from "./postprocess/text";

export function onEmptyLine(prefix: string, suffix: string): boolean {
  return /^[ \t]*$/.test(currentLine(prefix)) && /^[ \t]*\r?$/.test(restOfLine(suffix));
}
