/**
 * The generator's token sequence for one completion, in one of the two fill-in-the-middle layouts the
 * project's generator is trained with (training/hef_training/prompts.py):
 *
 *   PSM  [bos] [repository context (rag)] [entity comment line] [fim_prefix] prefix [fim_suffix] suffix [fim_middle]
 *   SPM  [bos] [repository context (rag)] [entity comment line] [fim_prefix] [fim_suffix] suffix [fim_middle] prefix
 *
 * Everything that changes little between keystrokes comes first, so that the KV cache of the previous request
 * covers it; the prefix window (see window.ts) only grows at its end between its steps. In PSM the suffix
 * follows the prefix, so a typed character invalidates the suffix's positions; SPM (for generators that declare
 * it, hef.fim.spm) ends with the prefix, so typing at the cursor only appends to the prompt. Pieces are tokenized
 * separately and concatenated, which is how FIM prompts are built anyway and makes each piece's cost exact and
 * additive, so budgets hold to the token.
 */
import { lineComment } from "../languages";
import type { GeneratorModelInfo } from "../native/generator";
import type { CompletionMode } from "./types";
import { headTokens, stableHead, stableTail, tailTokens } from "./window";

/** Text to token ids, without special tokens (BOS etc.) added. */
export type Tokenize = (text: string) => Int32Array;

/** prefix-suffix-middle (every FIM model) or suffix-prefix-middle (generators that declare hef.fim.spm). */
export type FimLayout = "psm" | "spm";

/** What the assembly needs to know of the generator, and the FIM layout to use (default psm). */
export type PromptModel = Pick<GeneratorModelInfo, "tokens" | "addBos"> & { fimLayout?: FimLayout };

/** A retrieved chunk's text and where it comes from (lines 1-based, inclusive). */
export interface Snippet {
  path: string;
  text: string;
  startLine?: number;
  endLine?: number;
}

export interface PromptRequest {
  /** The current file, relative to the repository root. */
  path: string;
  /** The whole text before and after the cursor; windowed here. */
  prefix: string;
  suffix: string;
  mode: CompletionMode;
  /** Fill-in-the-middle when the generator has the FIM tokens (default true). */
  fim?: boolean;
  /** rag: retrieved chunks, most relevant first. Ignored in the other modes. */
  snippets?: readonly Snippet[];
  ragBudget?: number;
  /** Entity names to list, in order of preference. */
  entities?: readonly string[];
  prefixBudget?: number;
  suffixBudget?: number;
  entityBudget?: number;
}

export interface AssembledPrompt {
  tokens: Int32Array;
  /** tokens.length. */
  promptTokens: number;
  /** Repository context tokens (snippets and their headers). */
  contextTokens: number;
  entityTokens: number;
  /** The names the entity line lists: those of request.entities that fitted its budget, in their order. */
  entityNames: string[];
  /**
   * Characters at the end of request.prefix that the prompt holds (the prefix window; in the rare
   * window that still has too many tokens after shrinking, its tokens are cut further).
   */
  prefixChars: number;
  /** Snippets that fitted the rag budget. */
  contextSnippets: number;
}

export const PROMPT_DEFAULTS = { prefixBudget: 1024, suffixBudget: 256, ragBudget: 4096, entityBudget: 64 } as const;

/**
 * Characters per token assumed when choosing a character window before tokenizing it; code averages 3-4.
 * A window that still tokenizes to too many is shrunk (see prefixTokens).
 */
const CHARS_PER_TOKEN = 4;
/** The prefix window moves by an eighth of its size: at least 3/4 of it is always kept. */
const STEPS_PER_WINDOW = 8;
const SHRINK_TRIES = 3;

export function assemblePrompt(tokenize: Tokenize, model: PromptModel, request: PromptRequest): AssembledPrompt {
  const special = model.tokens;
  const parts: ArrayLike<number>[] = [];
  if (model.addBos && special.bos !== undefined) parts.push([special.bos]);

  const context =
    request.mode === "rag" && request.snippets
      ? contextTokens(tokenize, model, request.path, request.snippets, request.ragBudget ?? PROMPT_DEFAULTS.ragBudget)
      : { tokens: [], snippets: 0 };
  parts.push(context.tokens);

  const entityLine = fitEntityLine(
    tokenize,
    request.path,
    request.entities ?? [],
    request.entityBudget ?? PROMPT_DEFAULTS.entityBudget,
  );
  parts.push(entityLine.tokens);

  const prefixWindow = prefixTokens(tokenize, request.prefix, request.prefixBudget ?? PROMPT_DEFAULTS.prefixBudget);
  const prefix = prefixWindow.tokens;
  const { fimPre, fimSuf, fimMid } = special;
  if ((request.fim ?? true) && fimPre !== undefined && fimSuf !== undefined && fimMid !== undefined) {
    const suffixBudget = request.suffixBudget ?? PROMPT_DEFAULTS.suffixBudget;
    const suffixText = request.suffix.slice(0, stableHead(request.suffix, suffixBudget * CHARS_PER_TOKEN));
    const suffix = headTokens(tokenize(suffixText), suffixBudget);
    if (model.fimLayout === "spm") parts.push([fimPre, fimSuf], suffix, [fimMid], prefix);
    else parts.push([fimPre], prefix, [fimSuf], suffix, [fimMid]);
  } else {
    parts.push(prefix);
  }

  const tokens = concat(parts);
  return {
    tokens,
    promptTokens: tokens.length,
    contextTokens: context.tokens.length,
    entityTokens: entityLine.tokens.length,
    entityNames: entityLine.names,
    prefixChars: prefixWindow.chars,
    contextSnippets: context.snippets,
  };
}

/**
 * What injecting these snippets as rag context would cost in tokens, headers included (hef mode reports it as
 * what rag would have cost for the same nodes); with a budget, only the snippets that fit count.
 */
export function snippetCost(
  tokenize: Tokenize,
  model: PromptModel,
  path: string,
  snippets: readonly Snippet[],
  budget = Number.POSITIVE_INFINITY,
): { tokens: number; snippets: number } {
  const context = contextTokens(tokenize, model, path, snippets, budget);
  return { tokens: context.tokens.length, snippets: context.snippets };
}

/**
 * Repository context. With <|file_sep|> it is Qwen2.5-Coder's repository format, one `<|file_sep|>path\n text`
 * per snippet and then `<|file_sep|>path\n` of the current file; otherwise each snippet gets a comment header
 * in the current file's comment syntax (the whole prompt reads as that file). Snippets are taken in rank order
 * while they fit whole (a later, smaller one may still fit after a bigger one did not) and emitted in reverse,
 * so that the most relevant lies nearest the prefix.
 */
function contextTokens(
  tokenize: Tokenize,
  model: PromptModel,
  path: string,
  snippets: readonly Snippet[],
  budget: number,
): { tokens: Int32Array; snippets: number } {
  const sep = model.tokens.fimSep;
  const comment = lineComment(path);
  const piece = (snippet: Snippet): ArrayLike<number> => {
    const body = snippet.text.endsWith("\n") ? snippet.text : `${snippet.text}\n`;
    if (sep !== undefined) return concat([[sep], tokenize(`${snippet.path}\n${body}`)]);
    return tokenize(`${comment} ${snippet.path}${lineSpan(snippet)}\n${body}`);
  };
  const trailer = sep !== undefined ? concat([[sep], tokenize(`${path}\n`)]) : new Int32Array(0);
  let left = budget - trailer.length;
  const chosen: ArrayLike<number>[] = [];
  for (const snippet of snippets) {
    const tokens = piece(snippet);
    if (tokens.length > left) continue;
    chosen.push(tokens);
    left -= tokens.length;
  }
  if (chosen.length === 0) return { tokens: new Int32Array(0), snippets: 0 };
  return { tokens: concat([...chosen.reverse(), trailer]), snippets: chosen.length };
}

function lineSpan(snippet: Snippet): string {
  if (snippet.startLine === undefined) return "";
  return snippet.endLine === undefined || snippet.endLine === snippet.startLine
    ? `:${snippet.startLine}`
    : `:${snippet.startLine}-${snippet.endLine}`;
}

/** `# known names: a, b.c` with as many names as fit the budget, in order, skipping those that do not. */
function fitEntityLine(
  tokenize: Tokenize,
  path: string,
  names: readonly string[],
  budget: number,
): { tokens: Int32Array; names: string[] } {
  const line = (chosen: readonly string[]) => tokenize(`${lineComment(path)} known names: ${chosen.join(", ")}\n`);
  const chosen: string[] = [];
  let best: Int32Array = new Int32Array(0);
  for (const name of names) {
    const tokens = line([...chosen, name]);
    if (tokens.length > budget) continue;
    chosen.push(name);
    best = tokens;
  }
  return { tokens: best, names: chosen };
}

/**
 * The prefix's stable tail window, tokenized. A window that tokenizes to more than the budget (dense code) is
 * shrunk in proportion and tried again; the last resort is a token cut that moves in steps (tailTokens).
 */
function prefixTokens(tokenize: Tokenize, prefix: string, budget: number): { tokens: Int32Array; chars: number } {
  let maxChars = budget * CHARS_PER_TOKEN;
  let tokens: Int32Array = new Int32Array(0);
  let chars = 0;
  for (let attempt = 0; attempt < SHRINK_TRIES; attempt++) {
    const step = Math.max(1, Math.floor(maxChars / STEPS_PER_WINDOW));
    const start = stableTail(prefix, maxChars, step);
    tokens = tokenize(prefix.slice(start));
    chars = prefix.length - start;
    if (tokens.length <= budget) return { tokens, chars };
    maxChars = Math.max(2, Math.floor((maxChars * budget * 0.9) / tokens.length));
  }
  return { tokens: tailTokens(tokens, budget), chars };
}

function concat(parts: readonly ArrayLike<number>[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
