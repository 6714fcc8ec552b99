/**
 * A small model stuck in a loop writes the same few characters again and again until the token limit
 * (`total(line.sku, line.sku, line.sku, line.sku, …`, `tx: str, tx: str, tx: str, …`): a line that ends in
 * one unit of 2 to 24 characters, holding a letter, digit or underscore, written at least four times in a
 * row is dropped with everything after it. Only completions the token limit cut off are looked at (the
 * loop never ended), and whole lines go, as Tabby's removeLineEndsWithRepetition does: the part before
 * the loop is rarely a line worth keeping. Dividers (`# ======`) have no word character and stay.
 */
export function dropLoopingLine(text: string): string {
  const lines = text.split("\n");
  const looping = lines.findIndex((line) => LOOP_AT_END.test(line.trimEnd()));
  return looping === -1 ? text : lines.slice(0, looping).join("\n").trimEnd();
}

const LOOP_AT_END = /((?=.*\w).{2,24}?)\1{3,}$/;
