// Byte-level BPE vocabularies for the project's models: 256 byte tokens, the code merges learned by
// scripts/train-code-bpe.ts, Qwen's special tokens, and unique unused fillers up to an exact size.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findPackageRoot } from "../util/packageRoot";
import { BYTE_TO_UNICODE } from "./bpe";

/** llama_token_type values (tokenizer.ggml.token_type). */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

export interface SpecialToken {
  readonly text: string;
  readonly type: TokenType;
}

const control = (text: string): SpecialToken => ({ text, type: TokenType.CONTROL });
const userDefined = (text: string): SpecialToken => ({ text, type: TokenType.USER_DEFINED });

/** Qwen2.5(-Coder) added tokens, in id order from 151643. */
export const QWEN2_5_SPECIAL_TOKENS: readonly SpecialToken[] = [
  control("<|endoftext|>"),
  control("<|im_start|>"),
  control("<|im_end|>"),
  control("<|object_ref_start|>"),
  control("<|object_ref_end|>"),
  control("<|box_start|>"),
  control("<|box_end|>"),
  control("<|quad_start|>"),
  control("<|quad_end|>"),
  control("<|vision_start|>"),
  control("<|vision_end|>"),
  control("<|vision_pad|>"),
  control("<|image_pad|>"),
  control("<|video_pad|>"),
  userDefined("<tool_call>"),
  userDefined("</tool_call>"),
  control("<|fim_prefix|>"),
  control("<|fim_middle|>"),
  control("<|fim_suffix|>"),
  control("<|fim_pad|>"),
  control("<|repo_name|>"),
  control("<|file_sep|>"),
];

/** Qwen3 (and Qwen3-Embedding) added tokens: Qwen2.5's plus four, ending at 151668. */
export const QWEN3_SPECIAL_TOKENS: readonly SpecialToken[] = [
  ...QWEN2_5_SPECIAL_TOKENS,
  userDefined("<tool_response>"),
  userDefined("</tool_response>"),
  userDefined("<think>"),
  userDefined("</think>"),
];

/** Where Qwen's tokenizers put their first added token (<|endoftext|>). */
export const QWEN_SPECIAL_TOKENS_START = 151643;

/** The committed code merges, read from the package (only tests and benchmarks make models). */
export function codeMergesPath(): string {
  return join(findPackageRoot(), "sidecar", "syntheticModels", "data", "code-bpe-merges.txt");
}

let committed: readonly string[] | undefined;

/**
 * Merges, "left right" each, in rank order: the committed code merges (data/code-bpe-merges.txt),
 * or those of a merges file at `path`.
 */
export function loadCodeMerges(path?: string): readonly string[] {
  if (path === undefined) return (committed ??= loadCodeMerges(codeMergesPath()));
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.length > 0);
  for (const line of lines) {
    const parts = line.split(" ");
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`bad merge line ${JSON.stringify(line)}`);
  }
  return lines;
}

export interface VocabOptions {
  /** Merges to use (default: the committed code merges). */
  readonly merges?: readonly string[];
  /** Added tokens (default QWEN2_5_SPECIAL_TOKENS). */
  readonly specials?: readonly SpecialToken[];
  /** Id of the first added token; fillers pad up to it (default: right after the merged tokens). */
  readonly specialsAt?: number;
  /** Exact vocabulary size; fillers pad the end (default: no padding). */
  readonly size?: number;
  /** Type of filler tokens (default UNUSED: llama.cpp keeps them out of its special-token matching). */
  readonly fillerType?: TokenType;
}

export interface Vocab {
  readonly tokens: readonly string[];
  readonly types: readonly TokenType[];
  readonly merges: readonly string[];
  /** Id of each added token, by text. */
  readonly special: Readonly<Record<string, number>>;
  /** Ids from byte tokens through the last merged token. */
  readonly bpeTokenCount: number;
}

/** Filler token text, as llama.cpp's converter names missing ids. */
export const fillerToken = (id: number): string => `[PAD${id}]`;

export function buildVocab(options: VocabOptions = {}): Vocab {
  const merges = options.merges ?? loadCodeMerges();
  const specials = options.specials ?? QWEN2_5_SPECIAL_TOKENS;
  const fillerType = options.fillerType ?? TokenType.UNUSED;
  const tokens: string[] = [...BYTE_TO_UNICODE];
  const types: TokenType[] = tokens.map(() => TokenType.NORMAL);
  const known = new Set(tokens);
  for (const merge of merges) {
    const space = merge.indexOf(" ");
    const left = merge.slice(0, space);
    const right = merge.slice(space + 1);
    if (!known.has(left) || !known.has(right)) throw new Error(`merge "${merge}" uses a token not made before it`);
    const text = left + right;
    if (known.has(text)) continue; // two merge paths to one token: one token
    known.add(text);
    tokens.push(text);
    types.push(TokenType.NORMAL);
  }
  const bpeTokenCount = tokens.length;
  const pad = (until: number): void => {
    while (tokens.length < until) {
      const text = fillerToken(tokens.length);
      if (known.has(text)) throw new Error(`filler ${text} collides with a token`);
      known.add(text);
      tokens.push(text);
      types.push(fillerType);
    }
  };
  if (options.specialsAt !== undefined) {
    if (options.specialsAt < tokens.length)
      throw new Error(`specials at ${options.specialsAt} would overlap ${tokens.length} BPE tokens`);
    pad(options.specialsAt);
  }
  const special: Record<string, number> = {};
  for (const s of specials) {
    if (known.has(s.text)) throw new Error(`special token ${s.text} already in the vocabulary`);
    known.add(s.text);
    special[s.text] = tokens.length;
    tokens.push(s.text);
    types.push(s.type);
  }
  if (options.size !== undefined) {
    if (options.size < tokens.length)
      throw new Error(`vocabulary of ${tokens.length} tokens exceeds size ${options.size}`);
    pad(options.size);
  }
  return { tokens, types, merges, special, bpeTokenCount };
}
