// Tensor data producers for the writer: float rows encoded on the fly, or a float array as a whole.
import { type FloatEncodedType, encodeFloats } from "./quantize";
import { rowByteSize } from "../../models/ggmlTypes";
import type { TensorData } from "./writer";

const CHUNK_BYTES = 2 << 20;

/**
 * `rowCount` rows of `rowLength` floats, each filled by `fillRow(row, out)` and encoded as `type`,
 * yielded in chunks of whole rows (one reused buffer).
 */
export function floatRows(
  type: FloatEncodedType,
  rowLength: number,
  rowCount: number,
  fillRow: (row: number, out: Float32Array) => void,
): TensorData {
  return function* () {
    const rowBytes = rowByteSize(type, rowLength);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
    const chunk = new Uint8Array(rowsPerChunk * rowBytes);
    const row = new Float32Array(rowLength);
    for (let r = 0; r < rowCount;) {
      const rows = Math.min(rowsPerChunk, rowCount - r);
      for (let i = 0; i < rows; i++) {
        row.fill(0);
        fillRow(r + i, row);
        encodeFloats(type, row, chunk, i * rowBytes);
      }
      r += rows;
      yield chunk.subarray(0, rows * rowBytes);
    }
  };
}

/** A tensor whose floats are all in memory (row-major, rows of `rowLength`), encoded as `type`. */
export function floatArray(type: FloatEncodedType, rowLength: number, data: Float32Array): TensorData {
  if (data.length % rowLength !== 0) throw new Error(`${data.length} floats are not whole rows of ${rowLength}`);
  return floatRows(type, rowLength, data.length / rowLength, (r, out) => {
    out.set(data.subarray(r * rowLength, (r + 1) * rowLength));
  });
}

/** Raw bytes already in the tensor's format. */
export function rawBytes(bytes: Uint8Array): TensorData {
  return function* () {
    yield bytes;
  };
}

/** `byteCount` zero bytes: zero values in every ggml type (all scales and quants zero). */
export function zeroBytes(byteCount: number): TensorData {
  return function* () {
    const chunk = new Uint8Array(Math.min(byteCount, CHUNK_BYTES));
    for (let left = byteCount; left > 0; left -= chunk.length)
      yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  };
}

/**
 * `data` with the bytes of every row where `isZeroRow(row)` set to zero (rows of `rowBytes` bytes).
 * Works on any type, since all-zero bytes are zero values; modifies the producer's chunks in place.
 */
export function zeroRows(data: TensorData, rowBytes: number, isZeroRow: (row: number) => boolean): TensorData {
  return async function* () {
    let offset = 0;
    for await (const chunk of data()) {
      const end = offset + chunk.length;
      for (let row = Math.floor(offset / rowBytes); row * rowBytes < end; row++) {
        if (!isZeroRow(row)) continue;
        const from = Math.max(row * rowBytes, offset) - offset;
        const to = Math.min((row + 1) * rowBytes, end) - offset;
        chunk.fill(0, from, to);
      }
      offset = end;
      yield chunk;
    }
  };
}
