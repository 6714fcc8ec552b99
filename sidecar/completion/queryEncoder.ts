// Paper Algorithm 2, line 1: q = E(TruncateLast(x, 512)), made cheap on the next keystroke.
// Taken literally, "the last 512 tokens" starts one token later after every keystroke, and nothing
// the embedder computed for the previous request could be reused. Here the window starts at a
// position that only moves in steps (stableTail for characters, a quantized cut for tokens), so
// consecutive requests share a token prefix and the native encoder decodes only what is new.
import type { NativeEncoder } from "../native/encoder";
import { stableTail, tailTokens } from "./window";

/** What the query encoder needs of the native encoder (sidecar/native/encoder.ts). */
export interface IncrementalEncoder {
  tokenize(text: string): Int32Array;
  readonly specialTokens: { bos?: number; eos?: number; addBos: boolean; addEos: boolean };
  /** slot: the document whose window this is; each slot keeps its own cached positions. */
  embedTokens(tokens: Int32Array, slot?: string): Promise<{ vector: Float32Array; reused: number; decoded: number }>;
}

/** The native encoder as the query window needs it: callers add the special tokens. */
export function asIncrementalEncoder(encoder: NativeEncoder): IncrementalEncoder {
  const { addBos, addEos, tokens } = encoder.info;
  return {
    tokenize: (text) => encoder.tokenize(text),
    specialTokens: {
      addBos,
      addEos,
      ...(tokens.bos !== undefined ? { bos: tokens.bos } : {}),
      ...(tokens.eos !== undefined ? { eos: tokens.eos } : {}),
    },
    embedTokens: (tokens, slot) => encoder.embedTokens(tokens, slot),
  };
}

/** Characters per token at most, for the character window that is tokenized (code averages 3-4). */
const CHARS_PER_TOKEN = 4;
/** The window's character start moves in steps of this many characters. */
const CHAR_STEP = 256;

export interface QueryEmbedding {
  vector: Float32Array;
  /** Window tokens embedded, and how many of them the encoder's cache already held. */
  tokens: number;
  reused: number;
}

/** The query window's tokens: at most maxTokens (specials included), starting where the previous request's did when possible. */
export function queryWindow(
  encoder: Pick<IncrementalEncoder, "tokenize" | "specialTokens">,
  prefix: string,
  maxTokens: number,
): Int32Array {
  const { bos, eos, addBos, addEos } = encoder.specialTokens;
  const head = addBos && bos !== undefined ? [bos] : [];
  const tail = addEos && eos !== undefined ? [eos] : [];
  const budget = maxTokens - head.length - tail.length;
  const start = stableTail(prefix, maxTokens * CHARS_PER_TOKEN, CHAR_STEP);
  let body = encoder.tokenize(prefix.slice(start));
  body = tailTokens(body, budget);
  if (body.length === 0 && head.length === 0 && tail.length === 0) body = encoder.tokenize(" ");
  return Int32Array.from([...head, ...body, ...tail]);
}

export async function embedQuery(
  encoder: IncrementalEncoder,
  prefix: string,
  maxTokens = 512,
  slot?: string,
): Promise<QueryEmbedding> {
  const tokens = queryWindow(encoder, prefix, maxTokens);
  const { vector, reused } = await encoder.embedTokens(tokens, slot);
  return { vector, tokens: tokens.length, reused };
}
