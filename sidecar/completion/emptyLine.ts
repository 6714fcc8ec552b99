// Whether the cursor stands on an empty line: the text before it on its line is indentation at most, and
// so is the text after it. There the user waits for a line, so the generator's "nothing goes here" is
// no answer (engine.ts); at column 0 of a line with code, or after code, it may well be the right one.

export function onEmptyLine(prefix: string, suffix: string): boolean {
  const before = prefix.slice(prefix.lastIndexOf("\n") + 1);
  const newline = suffix.indexOf("\n");
  const after = newline === -1 ? suffix : suffix.slice(0, newline);
  return /^[ \t]*$/.test(before) && /^[ \t]*\r?$/.test(after);
}
