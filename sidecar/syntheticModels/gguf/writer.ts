// GGUF v3 writer: header, metadata and tensor infos first, then each tensor's bytes streamed from its
// producer (never the whole model in memory), into a temporary file renamed into place when complete.
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { GgmlType, ggmlTypeInfo, ggmlTypeName, tensorByteSize } from "../../models/ggmlTypes";
import { ByteSink, type GgufValue, gguf, writeKeyValue } from "./metadata";

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** GGML_MAX_NAME - 1 */
export const GGUF_MAX_TENSOR_NAME = 63;
export const GGML_MAX_DIMS = 4;

/**
 * A tensor's bytes, produced in order chunk by chunk. A chunk only needs to stay valid until the
 * next one is requested (producers may reuse one buffer).
 */
export type TensorData = () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface GgufTensor {
  readonly name: string;
  /** ggml order: shape[0] is ne0, the length of a row. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  readonly data: TensorData;
}

export interface GgufFile {
  /** Written in this order; general.alignment is added when missing. */
  readonly metadata: Readonly<Record<string, GgufValue>>;
  readonly tensors: readonly GgufTensor[];
}

export interface GgufLayout {
  readonly header: Buffer;
  readonly alignment: number;
  /** Offset of each tensor's data relative to the start of the data section. */
  readonly tensorOffsets: readonly number[];
  readonly tensorSizes: readonly number[];
  /** Absolute file offset of the data section (header.length rounded up to the alignment). */
  readonly dataStart: number;
  readonly fileSize: number;
}

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

function validateTensor(t: GgufTensor, seen: Set<string>): void {
  if (t.name.length === 0 || Buffer.byteLength(t.name) > GGUF_MAX_TENSOR_NAME) {
    throw new Error(`bad tensor name "${t.name}" (1..${GGUF_MAX_TENSOR_NAME} bytes)`);
  }
  if (seen.has(t.name)) throw new Error(`duplicate tensor "${t.name}"`);
  seen.add(t.name);
  if (t.shape.length < 1 || t.shape.length > GGML_MAX_DIMS) throw new Error(`tensor "${t.name}": 1..4 dims`);
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 1) throw new Error(`tensor "${t.name}": bad dimension ${d}`);
  }
  const blockSize = ggmlTypeInfo(t.type).blockSize;
  if (t.shape[0]! % blockSize !== 0) {
    throw new Error(
      `tensor "${t.name}": row length ${t.shape[0]} is not a multiple of the ${ggmlTypeName(t.type)} block size ${blockSize}`,
    );
  }
}

/** Encodes everything before the data section and computes where each tensor goes. */
export function layoutGguf(file: GgufFile): GgufLayout {
  const metadata: Record<string, GgufValue> = { ...file.metadata };
  const alignmentValue = metadata["general.alignment"];
  if (alignmentValue === undefined) metadata["general.alignment"] = gguf.u32(GGUF_DEFAULT_ALIGNMENT);
  else if (alignmentValue.type !== "u32") throw new Error("general.alignment must be a u32");
  const alignment = Number(metadata["general.alignment"]!.value);
  if (!(alignment > 0 && (alignment & (alignment - 1)) === 0))
    throw new Error(`alignment ${alignment} is not a power of two`);

  const seen = new Set<string>();
  for (const t of file.tensors) validateTensor(t, seen);

  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(file.tensors.length);
  const entries = Object.entries(metadata);
  sink.u64(entries.length);
  for (const [key, value] of entries) writeKeyValue(sink, key, value);

  const tensorOffsets: number[] = [];
  const tensorSizes: number[] = [];
  let offset = 0;
  for (const t of file.tensors) {
    const size = tensorByteSize(t.type, t.shape);
    sink.string(t.name);
    sink.u32(t.shape.length);
    for (const d of t.shape) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offset);
    tensorOffsets.push(offset);
    tensorSizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  const dataStart = alignUp(sink.length, alignment);
  sink.zeros(dataStart - sink.length);
  const last = file.tensors.length - 1;
  const fileSize = dataStart + (last < 0 ? 0 : tensorOffsets[last]! + tensorSizes[last]!);
  return { header: sink.toBuffer(), alignment, tensorOffsets, tensorSizes, dataStart, fileSize };
}

const STAGING_BYTES = 8 << 20;

export interface WriteGgufOptions {
  /** fsync before the rename (default true). */
  readonly fsync?: boolean;
}

export interface WriteGgufResult {
  readonly path: string;
  readonly bytes: number;
  readonly dataStart: number;
}

/**
 * Writes `file` to `path` atomically: a temporary file in the same folder, renamed over `path`
 * only once every tensor produced exactly its expected byte count.
 */
export async function writeGguf(
  path: string,
  file: GgufFile,
  options: WriteGgufOptions = {},
): Promise<WriteGgufResult> {
  const layout = layoutGguf(file);
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx");
  let ok = false;
  const inFlight: (Promise<void> | undefined)[] = [undefined, undefined];
  try {
    // Two staging buffers: one fills while the other is being written, so producing and writing overlap.
    const buffers = [Buffer.alloc(STAGING_BYTES), Buffer.alloc(STAGING_BYTES)];
    let current = 0;
    let used = 0;
    let position = 0;
    const writeAll = async (buffer: Buffer, length: number, at: number): Promise<void> => {
      for (let done = 0; done < length;) {
        const { bytesWritten } = await handle.write(buffer, done, length - done, at + done);
        done += bytesWritten;
      }
    };
    const flush = async (): Promise<void> => {
      if (used === 0) return;
      const pendingWrite = writeAll(buffers[current]!, used, position);
      pendingWrite.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
      inFlight[current] = pendingWrite;
      position += used;
      used = 0;
      current = 1 - current;
      await inFlight[current]; // the buffer about to be filled must be written out first
      inFlight[current] = undefined;
    };
    const put = async (bytes: Uint8Array): Promise<void> => {
      let from = 0;
      while (from < bytes.length) {
        const n = Math.min(bytes.length - from, STAGING_BYTES - used);
        buffers[current]!.set(bytes.subarray(from, from + n), used);
        used += n;
        from += n;
        if (used === STAGING_BYTES) await flush();
      }
    };
    const pad = async (count: number): Promise<void> => {
      if (count > 0) await put(new Uint8Array(count));
    };

    await put(layout.header);
    let written = layout.dataStart;
    for (let i = 0; i < file.tensors.length; i++) {
      const t = file.tensors[i]!;
      const start = layout.dataStart + layout.tensorOffsets[i]!;
      await pad(start - written);
      written = start;
      const expected = layout.tensorSizes[i]!;
      let produced = 0;
      for await (const chunk of t.data()) {
        produced += chunk.length;
        if (produced > expected) break;
        await put(chunk);
      }
      if (produced !== expected) {
        throw new Error(
          `tensor "${t.name}" (${ggmlTypeName(t.type)} [${t.shape.join(", ")}]) produced ${produced > expected ? "more than" : produced} bytes, expected ${expected}`,
        );
      }
      written += expected;
    }
    await flush();
    await Promise.all(inFlight);
    if (options.fsync ?? true) await handle.datasync();
    ok = true;
  } finally {
    await Promise.allSettled(inFlight);
    await handle.close();
    if (!ok) await rm(tmp, { force: true });
  }
  await rename(tmp, path);
  return { path, bytes: layout.fileSize, dataStart: layout.dataStart };
}
