// Lines around the cursor, as the filters read them.

export function currentLine(prefix: string): string {
  return prefix.slice(prefix.lastIndexOf("\n") + 1);
}

export function restOfLine(suffix: string): string {
  const newline = suffix.indexOf("\n");
  return newline === -1 ? suffix : suffix.slice(0, newline);
}

export function nonBlank(lines: readonly string[]): string[] {
  return lines.map((line) => line.trim()).filter((line) => line !== "");
}
