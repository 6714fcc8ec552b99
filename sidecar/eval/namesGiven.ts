// Error analysis for cross-file line tasks: were the names the gold line uses already in the text the
// generator saw? A line whose names the prefix window shows needs no repository context to be written
// (a miss there is the generator's alone); a line whose names only the entity line gives shows what
// entity pre-parsing (paper 3.8) adds; the rest can only come from pseudo-tokens or injected code.

/**
 * The prefix window the generator sees holds up to 1,024 tokens; at the engine's 4 characters a token
 * that is the last 4,096 characters of the prefix (a dense window holds somewhat fewer).
 */
export const PREFIX_WINDOW_CHARS = 4096;

/** Where the gold line's names were given: all in the prefix window, the rest by the entity line, or not all. */
export type NamesGiven = "prefix" | "entity line" | "not given";

const IDENTIFIER = /[\p{L}_$][\p{L}\p{N}_$]*/gu;

/**
 * Where `names` were given. An entity line's qualified name (`Cart.add_item`) gives each of its parts.
 * Undefined when there are no names to give.
 */
export function namesGiven(
  names: readonly string[],
  prefix: string,
  entityNames: readonly string[],
): NamesGiven | undefined {
  if (names.length === 0) return undefined;
  const shown = new Set(prefix.slice(-PREFIX_WINDOW_CHARS).match(IDENTIFIER) ?? []);
  if (names.every((name) => shown.has(name))) return "prefix";
  const listed = new Set(entityNames.flatMap((qualified) => qualified.split(".")));
  return names.every((name) => shown.has(name) || listed.has(name)) ? "entity line" : "not given";
}
