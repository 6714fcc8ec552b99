import { closeSync, openSync, readSync, statSync } from "node:fs";
import { readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { printable } from "../util/printable";
import { tensorByteSize } from "./gguf/ggmlTypes";

/** adapter: a HEF adapter (sidecar/generation/adapterFormat.ts), checked for truncation only; fuser: the transformer an adapter names. */
export type ModelRole = "embedder" | "generator" | "adapter" | "fuser";

/** A model file that cannot serve its role; the message names the file and the problem in one line. */
export class ModelFileError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "ModelFileError";
  }
}

export interface ModelFileInfo {
  architecture: string;
  name?: string;
  info: GgufFileInfo;
}

const POOLING_NONE = 0;

// The smallest a key-value pair (key length, one byte of key, type, one byte of value) and a tensor
// description (name length, one byte of name, dimension count, one dimension, type, offset) can be.
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 8 + 4 + 8;

/**
 * What is wrong with a GGUF's fixed header, before any parser trusts its counts: a 24-byte file that
 * claims 2^62 key-value pairs made the reader spin and grow without end. No message quotes the file's
 * bytes (a text file passed as a model would have its first line printed).
 */
function ggufHeaderProblem(path: string, size: number): string | undefined {
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

/**
 * Checks a GGUF before llama.cpp sees it, so that a missing, truncated or wrong file gets a
 * sentence instead of a native "failed to load model".
 */
export async function inspectModelFile(path: string, role: ModelRole): Promise<ModelFileInfo> {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ModelFileError(path, "not a file");
    size = stat.size;
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(path, `${role} model file not found`);
  }
  const problem = ggufHeaderProblem(path, size);
  if (problem) throw new ModelFileError(path, problem);
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false, ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"] });
  } catch (error) {
    // Bounded and with control characters escaped: the reason may quote the file's own strings.
    const reason = printable((error as Error).message).slice(0, 200);
    throw new ModelFileError(path, size < 24 ? "empty or truncated, not a GGUF file" : `not a readable GGUF file (${reason})`);
  }
  // node-llama-cpp's reader does not notice a file that ends inside its own header.
  const headerEnd = info.infoEndOffset ?? 0;
  if (headerEnd > size || (info.fullTensorInfo ?? []).some((tensor) => tensor.name === "")) {
    throw new ModelFileError(path, `truncated: the GGUF header needs ${headerEnd} bytes, the file has ${size}`);
  }
  for (const tensor of info.fullTensorInfo ?? []) {
    const end = Number(tensor.fileOffset) + tensorByteSize(tensor.ggmlType, tensor.dimensions.map(Number));
    if (end > size) {
      throw new ModelFileError(path, `truncated: tensor ${tensor.name} ends at byte ${end}, the file has ${size}`);
    }
  }
  const architecture = String(info.metadata.general?.architecture ?? "");
  if (!architecture) throw new ModelFileError(path, "GGUF declares no general.architecture");
  if (role === "embedder") {
    const archMetadata = info.architectureMetadata as { pooling_type?: number };
    if (archMetadata.pooling_type === undefined || archMetadata.pooling_type === POOLING_NONE) {
      throw new ModelFileError(
        path,
        `not an embedding model (${architecture} declares no pooling type); pass an embedding GGUF such as Qwen3-Embedding`,
      );
    }
  }
  const name = info.metadata.general?.name;
  return { architecture, info, ...(name ? { name: String(name) } : {}) };
}
