import { statSync } from "node:fs";
import { readGgufFileInfo, type GgufFileInfo } from "node-llama-cpp";
import { printable } from "../util/printable";
import { tensorByteSize } from "./ggmlTypes";
import { ggufHeaderProblem } from "../../common/ggufHeader";

/** adapter: a HEF adapter (sidecar/adapter/adapterFormat.ts), checked for truncation only; fuser: the transformer an adapter names. */
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
    info = await readGgufFileInfo(path, {
      sourceType: "filesystem",
      logWarnings: false,
      ignoreKeys: ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"],
    });
  } catch (error) {
    // Bounded and with control characters escaped: the reason may quote the file's own strings.
    const reason = printable((error as Error).message).slice(0, 200);
    throw new ModelFileError(
      path,
      size < 24 ? "empty or truncated, not a GGUF file" : `not a readable GGUF file (${reason})`,
    );
  }
  // node-llama-cpp's reader does not notice a file that ends inside its own header.
  const headerEnd = info.infoEndOffset ?? 0;
  if (headerEnd > size || (info.fullTensorInfo ?? []).some((tensor) => tensor.name === "")) {
    throw new ModelFileError(path, `truncated: the GGUF header needs ${headerEnd} bytes, the file has ${size}`);
  }
  for (const tensor of info.fullTensorInfo ?? []) {
    // The file passed the structural walk (common/ggufHeader.ts); its tensor names are still its own bytes: escaped and bounded.
    const name = printable(tensor.name).slice(0, 64);
    let bytes: number;
    try {
      bytes = tensorByteSize(tensor.ggmlType, tensor.dimensions.map(Number));
    } catch (error) {
      throw new ModelFileError(
        path,
        `tensor ${name}: ${(error as Error).message} (a newer llama.cpp type, or a damaged file)`,
      );
    }
    const end = Number(tensor.fileOffset) + bytes;
    if (end > size)
      throw new ModelFileError(path, `truncated: tensor ${name} ends at byte ${end}, the file has ${size}`);
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
