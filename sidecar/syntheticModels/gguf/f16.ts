// IEEE half precision <-> float32, bit-exact with ggml's reference conversion (ggml-impl.h).

const scratch = new ArrayBuffer(4);
const f32View = new Float32Array(scratch);
const u32View = new Uint32Array(scratch);

function bitsToF32(bits: number): number {
  u32View[0] = bits >>> 0;
  return f32View[0]!;
}

function f32ToBits(value: number): number {
  f32View[0] = value;
  return u32View[0]!;
}

const SCALE_TO_INF = 2 ** 112;
const SCALE_TO_ZERO = 2 ** -110;

/**
 * Converts a number (first rounded to float32) to float16 bits, rounding to nearest even,
 * exactly as ggml_compute_fp32_to_fp16 does.
 */
export function f32ToF16Bits(value: number): number {
  const f = Math.fround(value);
  let base = Math.fround(Math.fround(Math.abs(f) * SCALE_TO_INF) * SCALE_TO_ZERO);
  const w = f32ToBits(f);
  const shl1w = (w << 1) >>> 0;
  const sign = (w & 0x80000000) >>> 0;
  let bias = (shl1w & 0xff000000) >>> 0;
  if (bias < 0x71000000) bias = 0x71000000;
  base = Math.fround(bitsToF32(((bias >>> 1) + 0x07800000) >>> 0) + base);
  const bits = f32ToBits(base);
  const expBits = (bits >>> 13) & 0x00007c00;
  const mantissaBits = bits & 0x00000fff;
  const nonsign = expBits + mantissaBits;
  return ((sign >>> 16) | (shl1w > 0xff000000 ? 0x7e00 : nonsign)) & 0xffff;
}

/** Float16 bits to the exact number they represent. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
