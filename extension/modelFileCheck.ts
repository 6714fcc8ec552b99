// A look at a model file before it becomes a setting: a text file renamed .gguf used to be saved,
// and the sidecar then failed to load at its next start with the reason only in a tooltip. No
// editor API here, so it is tested in Node; the sidecar still validates every file it loads.
import { open, stat } from "node:fs/promises";

/** "GGUF", then a little-endian u32 version: what every file llama.cpp loads begins with. */
const MAGIC = Buffer.from("GGUF", "ascii");
const HEADER_BYTES = 24;
const VERSIONS = new Set([2, 3]);

/** Why the file at `path` cannot be a GGUF model, in one sentence; undefined when its header is one. */
export async function modelFileProblem(path: string): Promise<string | undefined> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) return `${path} is not a regular file.`;
    size = info.size;
  } catch (error) {
    return `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`;
  }
  if (size < HEADER_BYTES) return `${path} is not a GGUF model: it has ${size} bytes, less than a GGUF header.`;
  const header = Buffer.alloc(HEADER_BYTES);
  const file = await open(path, "r");
  try {
    await file.read(header, 0, HEADER_BYTES, 0);
  } finally {
    await file.close();
  }
  // Never echo the bytes: the file may be anything, including a secret.
  if (!header.subarray(0, 4).equals(MAGIC)) return `${path} is not a GGUF model (it does not begin with "GGUF").`;
  const version = header.readUInt32LE(4);
  if (!VERSIONS.has(version)) return `${path} is GGUF version ${version}; llama.cpp reads versions 2 and 3.`;
  return undefined;
}
