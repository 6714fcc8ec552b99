// The fixed GGUF header, checked before any parser trusts its counts. Shared with the extension
// (extension/modelFileCheck.ts checks a chosen model file before it becomes a setting), so it
// imports nothing but node:fs.
import { closeSync, openSync, readSync } from "node:fs";

// The smallest a key-value pair (key length, one byte of key, type, one byte of value) and a tensor
// description (name length, one byte of name, dimension count, one dimension, type, offset) can be.
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8;

/**
 * What is wrong with a GGUF's fixed header, before any parser trusts its counts: a 24-byte file that
 * claims 2^62 key-value pairs made the reader spin and grow without end. No message quotes the file's
 * bytes (a text file passed as a model would have its first line printed).
 */
export function ggufHeaderProblem(path: string, size: number): string | undefined {
  const head = Buffer.alloc(24);
  const fd = openSync(path, "r");
  let read: number;
  try {
    read = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (read < 4 || head.toString("latin1", 0, 4) !== "GGUF") return read < 4 ? "empty or truncated, not a GGUF file" : "not a GGUF file";
  if (read < 24) return "truncated: the GGUF header is 24 bytes";
  const version = head.readUInt32LE(4);
  if (version !== 2 && version !== 3) return `GGUF version ${version} is not supported (2 or 3)`;
  const tensors = head.readBigUInt64LE(8);
  const pairs = head.readBigUInt64LE(16);
  const least = tensors * BigInt(MIN_TENSOR_INFO_BYTES) + pairs * BigInt(MIN_KV_BYTES);
  if (least > BigInt(size - 24)) return `truncated or damaged: the header declares ${tensors} tensors and ${pairs} metadata entries, more than ${size} bytes can hold`;
  return undefined;
}
