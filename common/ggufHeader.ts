// A GGUF's header, metadata and tensor descriptions, checked before any parser trusts a length or
// count in them. Shared with the extension (extension/modelFileCheck.ts checks a chosen model file
// before it becomes a setting), so it imports nothing but node:fs.
import { closeSync, openSync, readSync } from "node:fs";

// The smallest a key-value pair (key length, one byte of key, type, one byte of value) and a tensor
// description (name length, one byte of name, dimension count, one dimension, type, offset) can be.
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8;

// GGUF value types 0-12: bytes of one value, 0 for the two of variable size (string, array).
const VALUE_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
const STRING = 8;
const ARRAY = 9;
const LAST_TYPE = VALUE_BYTES.length - 1;
/** GGML_MAX_DIMS */
const MAX_DIMS = 4;
/** Arrays of arrays: the GGUF spec allows them, llama.cpp reads none; a bound keeps the walk's recursion shallow. */
const MAX_ARRAY_DEPTH = 8;
/** The reader's window; the metadata of a real model (tokenizer arrays) is several MB and is read through it. */
const WINDOW_BYTES = 1 << 20;

class Refusal extends Error {}

/**
 * The file through a fixed window, read forward. Reads check the bytes left against `size` first,
 * so nothing is ever allocated or looped over by a count the file declares.
 */
class Cursor {
  pos = 24;
  /** What is being read, for the message when the file ends inside it. */
  at = "the header";
  /** The exact value of the last u64 read when it is past 2^53 (the number returned is then rounded). */
  lastBig = 0n;
  private start = 0;
  private end = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly window: Buffer,
  ) {}

  left(): number {
    return this.size - this.pos;
  }

  private fill(n: number): number {
    if (n > this.size - this.pos)
      throw new Refusal(`truncated or damaged: ${this.at} runs past the end of the file (${this.size} bytes)`);
    if (this.pos < this.start || this.pos + n > this.end) {
      const got = readSync(this.fd, this.window, 0, Math.min(this.window.length, this.size - this.pos), this.pos);
      this.start = this.pos;
      this.end = this.pos + got;
      if (got < n) throw new Refusal(`truncated: the file ended while ${this.at} was read`);
    }
    const offset = this.pos - this.start;
    this.pos += n;
    return offset;
  }

  u32(): number {
    return this.window.readUInt32LE(this.fill(4));
  }

  u64(): number {
    const offset = this.fill(8);
    const lo = this.window.readUInt32LE(offset);
    const hi = this.window.readUInt32LE(offset + 4);
    const value = hi * 2 ** 32 + lo;
    if (!Number.isSafeInteger(value)) this.lastBig = (BigInt(hi) << 32n) | BigInt(lo);
    return value;
  }

  /** A u64 just read, exactly (a value past 2^53 is printed from lastBig). */
  show(value: number): string {
    return Number.isSafeInteger(value) ? String(value) : String(this.lastBig);
  }

  /** Skips `n` bytes the caller has checked against left(). */
  skip(n: number): void {
    this.pos += n;
  }

  /** A string: u64 length, then that many bytes, skipped unread. */
  string(what: string): void {
    const length = this.u64();
    if (length > this.left())
      throw new Refusal(
        `truncated or damaged: ${what} declares ${this.show(length)} bytes, more than the ${this.left()} left in the file`,
      );
    this.pos += length;
  }
}

/** One value of `type` (checked to be 0-12); arrays are walked element by element where their elements vary in size. */
function walkValue(c: Cursor, type: number, depth: number): void {
  if (type === STRING) return c.string(`the string of ${c.at}`);
  if (type !== ARRAY) {
    const bytes = VALUE_BYTES[type]!;
    if (bytes > c.left())
      throw new Refusal(`truncated or damaged: ${c.at} runs past the end of the file (${c.size} bytes)`);
    return c.skip(bytes);
  }
  const itemType = c.u32();
  if (itemType > LAST_TYPE)
    throw new Refusal(
      `damaged: ${c.at} is an array of value type ${itemType}, which GGUF does not define (0 to ${LAST_TYPE})`,
    );
  const count = c.u64();
  // The least each element takes: its bytes, a string's length, an inner array's type and count.
  const least = itemType === STRING ? 8 : itemType === ARRAY ? 12 : VALUE_BYTES[itemType]!;
  if (count > c.left() / least) {
    throw new Refusal(
      `truncated or damaged: ${c.at} declares an array of ${c.show(count)} elements, more than the ${c.left()} bytes left in the file can hold`,
    );
  }
  if (itemType === STRING) {
    for (let i = 0; i < count; i++) {
      const length = c.u64();
      if (length > c.left()) {
        throw new Refusal(
          `truncated or damaged: string ${i + 1} of the array in ${c.at} declares ${c.show(length)} bytes, more than the ${c.left()} left in the file`,
        );
      }
      c.skip(length);
    }
  } else if (itemType === ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) throw new Refusal(`damaged: ${c.at} nests arrays more than ${MAX_ARRAY_DEPTH} deep`);
    for (let i = 0; i < count; i++) walkValue(c, ARRAY, depth + 1);
  } else {
    c.skip(count * least);
  }
}

/** The key-value pairs, then the tensor descriptions, every length and count against the bytes left. */
function walk(c: Cursor, tensors: number, pairs: number): void {
  for (let i = 0; i < pairs; i++) {
    c.at = `metadata entry ${i + 1} of ${pairs}`;
    c.string(`the key of ${c.at}`);
    const type = c.u32();
    if (type > LAST_TYPE)
      throw new Refusal(`damaged: ${c.at} has value type ${type}, which GGUF does not define (0 to ${LAST_TYPE})`);
    walkValue(c, type, 0);
  }
  for (let i = 0; i < tensors; i++) {
    c.at = `tensor description ${i + 1} of ${tensors}`;
    c.string(`the name in ${c.at}`);
    const dims = c.u32();
    if (dims > MAX_DIMS)
      throw new Refusal(`damaged: ${c.at} declares ${dims} dimensions, more than ggml's ${MAX_DIMS}`);
    if (dims * 8 + 4 + 8 > c.left())
      throw new Refusal(`truncated or damaged: ${c.at} runs past the end of the file (${c.size} bytes)`);
    c.skip(dims * 8 + 4);
    const offset = c.u64();
    if (offset > c.size)
      throw new Refusal(
        `damaged: ${c.at} places its data at offset ${c.show(offset)}, past the end of the file (${c.size} bytes)`,
      );
  }
}

/**
 * What is wrong with a GGUF before any parser trusts its lengths and counts, or undefined: the fixed
 * header (a 24-byte file claiming 2^62 key-value pairs made the reader spin and grow without end),
 * then every key, string and array length, value type, tensor name length, dimension count and data
 * offset against the bytes left in the file (a key length one past the file's end made
 * node-llama-cpp's reader spin, one of 2^31 abort the process). Reads the metadata through a 1 MiB
 * window and allocates nothing by a declared count. No message quotes the file's bytes (a text file
 * passed as a model would have its first line printed).
 */
export function ggufHeaderProblem(path: string, size: number): string | undefined {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(24);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read < 4 || head.toString("latin1", 0, 4) !== "GGUF")
      return read < 4 ? "empty or truncated, not a GGUF file" : "not a GGUF file";
    if (read < 24) return "truncated: the GGUF header is 24 bytes";
    const version = head.readUInt32LE(4);
    if (version !== 2 && version !== 3) return `GGUF version ${version} is not supported (2 or 3)`;
    const tensors = head.readBigUInt64LE(8);
    const pairs = head.readBigUInt64LE(16);
    const least = tensors * BigInt(MIN_TENSOR_INFO_BYTES) + pairs * BigInt(MIN_KV_BYTES);
    if (least > BigInt(size - 24))
      return `truncated or damaged: the header declares ${tensors} tensors and ${pairs} metadata entries, more than ${size} bytes can hold`;
    try {
      walk(
        new Cursor(fd, size, Buffer.alloc(Math.min(WINDOW_BYTES, Math.max(size - 24, 8)))),
        Number(tensors),
        Number(pairs),
      );
    } catch (error) {
      if (error instanceof Refusal) return error.message;
      throw error;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
