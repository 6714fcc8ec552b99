// Error analysis for cross-file line tasks: were the names the gold line uses already in the text the
// generator saw? A line whose names the prefix window shows needs no repository context to be written
// (a miss there is the generator's alone); a line whose names only the entity line gives shows what
// entity pre-parsing (paper 3.8) adds; the rest can only come from pseudo-tokens or injected code.
import { IDENTIFIER } from "../languages";

/** Where the gold line's names were given: all in the prefix window, the rest by the entity line, or not all. */
export type NamesGiven = "prefix" | "entity line" | "not given";

/**
 * Where `names` were given: `window` is the text before the cursor that the prompt held, `entityNames`
 * what its entity line listed (a qualified name, `Cart.add_item`, gives each of its parts). Undefined
 * when there are no names to give.
 */
export function namesGiven(
  names: readonly string[],
  window: string,
  entityNames: readonly string[],
): NamesGiven | undefined {
  if (names.length === 0) return undefined;
  const shown = new Set(window.match(IDENTIFIER) ?? []);
  if (names.every((name) => shown.has(name))) return "prefix";
  const listed = new Set(entityNames.flatMap((qualified) => qualified.split(".")));
  return names.every((name) => shown.has(name) || listed.has(name)) ? "entity line" : "not given";
}
