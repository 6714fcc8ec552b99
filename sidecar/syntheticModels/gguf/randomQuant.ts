// Fast path for random-weight models: fills Q8_0 / Q4_K / Q6_K blocks directly with deterministic
// pseudo-random quants and small, sane per-block scales, without ever materialising float arrays.
import { Prng } from "../../util/prng";
import { f32ToF16Bits, f16BitsToF32 } from "./f16";
import { GgmlType, ggmlTypeInfo, ggmlTypeName } from "../../models/ggmlTypes";

export type RandomQuantType = typeof GgmlType.Q8_0 | typeof GgmlType.Q4_K | typeof GgmlType.Q6_K;

export function isRandomQuantType(type: GgmlType): type is RandomQuantType {
  return type === GgmlType.Q8_0 || type === GgmlType.Q4_K || type === GgmlType.Q6_K;
}

const CHUNK_BYTES = 4 << 20;

// Standard deviation of the integer quant a block's scale multiplies, for uniformly random quant bits.
const Q8_0_QUANT_STD = Math.sqrt((256 * 256 - 1) / 12); // int8 in [-128, 127]
const Q4_K_QUANT_STD = Math.sqrt((16 * 16 - 1) / 12); // (q - 7.5), q in [0, 15]
const Q6_K_QUANT_STD = Math.sqrt((64 * 64 - 1) / 12); // (q - 32), q in [0, 63]
const Q4_K_MEAN_SUBSCALE = 23.5; // sub-block scales/mins drawn from [16, 31]
const Q6_K_MEAN_SUBSCALE = 7.5; // sub-block scales drawn from [4, 11]

/** 16 f16 super-block scales spread over [0.75, 1.25] x base, so blocks differ. */
function scaleTable(base: number): Uint16Array {
  const table = new Uint16Array(16);
  for (let k = 0; k < 16; k++) table[k] = f32ToF16Bits(base * (0.75 + k / 30));
  return table;
}

function putF16(dst: Uint8Array, at: number, bits: number): void {
  dst[at] = bits & 0xff;
  dst[at + 1] = bits >>> 8;
}

function patchQ8_0(buf: Uint8Array, blocks: number, words: Uint32Array, table: Uint16Array): void {
  for (let b = 0; b < blocks; b++) putF16(buf, b * 34, table[words[b]! & 15]!);
}

function patchQ4_K(buf: Uint8Array, blocks: number, std: number): void {
  const dTable = scaleTable(std / (Q4_K_MEAN_SUBSCALE * Q4_K_QUANT_STD));
  // dmin = 7.5 d with the sub-block min equal to its scale centres each sub-block: y = d*v*(q - 7.5).
  const dminTable = dTable.map((bits) => f32ToF16Bits(f16BitsToF32(bits) * 7.5));
  for (let b = 0; b < blocks; b++) {
    const at = b * 144;
    // Reuse the block's own random quant bytes as the source of its scale choices.
    const r = buf[at + 16]! | (buf[at + 17]! << 8) | (buf[at + 18]! << 16) | (buf[at + 19]! << 24);
    const k = (buf[at + 20]! >>> 4) & 15;
    putF16(buf, at, dTable[k]!);
    putF16(buf, at + 2, dminTable[k]!);
    const s = at + 4;
    for (let j = 0; j < 8; j++) {
      const v = 16 + ((r >>> (4 * j)) & 15); // 6-bit scale == 6-bit min
      if (j < 4) {
        buf[s + j] = v;
        buf[s + j + 4] = v;
      } else {
        buf[s + j + 4] = (v & 0xf) | ((v & 0xf) << 4);
        buf[s + j - 4] = buf[s + j - 4]! | ((v >>> 4) << 6);
        buf[s + j] = buf[s + j]! | ((v >>> 4) << 6);
      }
    }
  }
}

function patchQ6_K(buf: Uint8Array, blocks: number, std: number): void {
  const dTable = scaleTable(std / (Q6_K_MEAN_SUBSCALE * Q6_K_QUANT_STD));
  for (let b = 0; b < blocks; b++) {
    const at = b * 210;
    const r = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
    const r2 = buf[at + 4]! | (buf[at + 5]! << 8);
    for (let j = 0; j < 16; j++) {
      const bits = j < 10 ? (r >>> (3 * j)) & 7 : (r2 >>> (3 * (j - 10))) & 7;
      buf[at + 192 + j] = 4 + bits; // int8 sub-block scale in [4, 11]
    }
    putF16(buf, at + 208, dTable[(buf[at + 6]! >>> 4) & 15]!);
  }
}

/**
 * Yields the bytes of `elements` random quantized weights of `type` (a whole number of blocks),
 * with weight standard deviation about `std`. Chunks are reused: each is valid until the next is requested.
 */
export function* randomQuantBlocks(
  type: RandomQuantType,
  elements: number,
  seed: string,
  std: number,
): Generator<Uint8Array> {
  const { blockSize, typeSize } = ggmlTypeInfo(type);
  if (elements % blockSize !== 0) {
    throw new Error(`${elements} elements are not a whole number of ${ggmlTypeName(type)} blocks`);
  }
  const prng = new Prng(seed);
  const totalBlocks = elements / blockSize;
  const blocksPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / typeSize));
  const words = new Uint32Array(Math.ceil((blocksPerChunk * typeSize) / 4));
  const bytes = new Uint8Array(words.buffer);
  const q8Table = scaleTable(std / Q8_0_QUANT_STD);
  const scaleWords = new Uint32Array(type === GgmlType.Q8_0 ? blocksPerChunk : 0);
  for (let done = 0; done < totalBlocks;) {
    const blocks = Math.min(blocksPerChunk, totalBlocks - done);
    const len = blocks * typeSize;
    prng.fillU32(words.subarray(0, Math.ceil(len / 4)));
    if (type === GgmlType.Q8_0) {
      prng.fillU32(scaleWords);
      patchQ8_0(bytes, blocks, scaleWords, q8Table);
    } else if (type === GgmlType.Q4_K) {
      patchQ4_K(bytes, blocks, std);
    } else {
      patchQ6_K(bytes, blocks, std);
    }
    done += blocks;
    yield bytes.subarray(0, len);
  }
}
