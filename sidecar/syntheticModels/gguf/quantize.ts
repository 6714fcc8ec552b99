// Encoding float32 rows as F32, F16 or Q8_0 bytes (Q8_0 exactly as ggml's quantize_row_q8_0_ref).
import { f32ToF16Bits } from "./f16";
import { GgmlType } from "../../models/ggmlTypes";

export const QK8_0 = 32;
export const Q8_0_BLOCK_BYTES = 34;

export type FloatEncodedType = typeof GgmlType.F32 | typeof GgmlType.F16 | typeof GgmlType.Q8_0;

export function isFloatEncodedType(type: GgmlType): type is FloatEncodedType {
  return type === GgmlType.F32 || type === GgmlType.F16 || type === GgmlType.Q8_0;
}

/** Writes `src` as little-endian float32 into `dst` at `offset`; returns the bytes written. */
export function encodeF32(src: Float32Array, dst: Uint8Array, offset: number): number {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let i = 0; i < src.length; i++) view.setFloat32(offset + i * 4, src[i]!, true);
  return src.length * 4;
}

/** Writes `src` as little-endian float16 into `dst` at `offset`; returns the bytes written. */
export function encodeF16(src: Float32Array, dst: Uint8Array, offset: number): number {
  for (let i = 0; i < src.length; i++) {
    const h = f32ToF16Bits(src[i]!);
    dst[offset + 2 * i] = h & 0xff;
    dst[offset + 2 * i + 1] = h >>> 8;
  }
  return src.length * 2;
}

/** C roundf: halves round away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * Quantizes `src` (length a multiple of 32) to Q8_0 blocks written into `dst` at `offset`,
 * bit-exact with ggml's quantize_row_q8_0_ref: per block d = amax/127 in float32,
 * stored as f16, q = roundf(x * (1/d)). Returns the bytes written.
 */
export function quantizeQ8_0(src: Float32Array, dst: Uint8Array, offset: number): number {
  if (src.length % QK8_0 !== 0) throw new Error(`Q8_0 needs a multiple of ${QK8_0} values, got ${src.length}`);
  const blocks = src.length / QK8_0;
  for (let b = 0; b < blocks; b++) {
    const base = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(src[base + j]!));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const out = offset + b * Q8_0_BLOCK_BYTES;
    const h = f32ToF16Bits(d);
    dst[out] = h & 0xff;
    dst[out + 1] = h >>> 8;
    for (let j = 0; j < QK8_0; j++) {
      const q = roundHalfAway(Math.fround(src[base + j]! * id));
      dst[out + 2 + j] = q & 0xff;
    }
  }
  return blocks * Q8_0_BLOCK_BYTES;
}

/** Encodes one row (or several whole rows) of floats as `type`; returns the bytes written. */
export function encodeFloats(type: FloatEncodedType, src: Float32Array, dst: Uint8Array, offset: number): number {
  switch (type) {
    case GgmlType.F32:
      return encodeF32(src, dst, offset);
    case GgmlType.F16:
      return encodeF16(src, dst, offset);
    case GgmlType.Q8_0:
      return quantizeQ8_0(src, dst, offset);
  }
}
