// Byte-level BPE basics shared by the merge trainer and the vocabulary: GPT-2's byte <-> unicode mapping
// and a pre-tokenizer matching llama.cpp's "qwen2" pre-tokenizer regex (llama-vocab.cpp), so merges learned
// here apply to the pieces llama.cpp forms when it tokenizes.

/** GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards. */
function buildByteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  const isPrintable = new Set(printable);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(isPrintable.has(b) ? b : 256 + next++);
  }
  return table;
}

/** BYTE_TO_UNICODE[b] is the one-character token text of byte b. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

const UNICODE_TO_BYTE = new Map<string, number>(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

/** UTF-8 bytes of `text` as GPT-2 token characters. */
export function bytesToTokenText(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += BYTE_TO_UNICODE[b]!;
  return out;
}

export function textToTokenText(text: string): string {
  return bytesToTokenText(Buffer.from(text, "utf8"));
}

/** Inverse of bytesToTokenText. */
export function tokenTextToBytes(tokenText: string): Uint8Array {
  const out: number[] = [];
  for (const ch of tokenText) {
    const b = UNICODE_TO_BYTE.get(ch);
    if (b === undefined) throw new Error(`character ${JSON.stringify(ch)} is not a byte token`);
    out.push(b);
  }
  return Uint8Array.from(out);
}

/**
 * llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2 regex (tokenizer.ggml.pre = "qwen2"), in JavaScript syntax:
 * contractions, letters with one optional leading non-letter/digit, single digits, punctuation runs
 * with trailing newlines, newline runs, whitespace not followed by non-space, whitespace.
 */
export const QWEN2_PRETOKENIZER =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** Splits text into the pieces BPE merges never cross. */
export function pretokenize(text: string): string[] {
  return text.match(new RegExp(QWEN2_PRETOKENIZER.source, "gu")) ?? [];
}
