// ggml tensor types and their block geometry (ggml.h enum ggml_type, ggml.c type_traits).
// Every type is listed so files made elsewhere can be sized; this project writes F32, F16, Q8_0, Q4_K, Q6_K.

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

export interface GgmlTypeInfo {
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

// [blockSize, typeSize] per type, sizes of ggml-common.h's block structs.
const GEOMETRY: Readonly<Record<keyof typeof GgmlType, readonly [number, number]>> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q8_1: [32, 36],
  Q2_K: [256, 84],
  Q3_K: [256, 110],
  Q4_K: [256, 144],
  Q5_K: [256, 176],
  Q6_K: [256, 210],
  Q8_K: [256, 292],
  IQ2_XXS: [256, 66],
  IQ2_XS: [256, 74],
  IQ3_XXS: [256, 98],
  IQ1_S: [256, 50],
  IQ4_NL: [32, 18],
  IQ3_S: [256, 110],
  IQ2_S: [256, 82],
  IQ4_XS: [256, 136],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [256, 56],
  BF16: [1, 2],
  TQ1_0: [256, 54],
  TQ2_0: [256, 66],
  MXFP4: [32, 17],
  NVFP4: [64, 36],
  Q1_0: [128, 18],
  Q2_0: [64, 18],
};

const INFO = new Map<number, GgmlTypeInfo>(
  (Object.keys(GgmlType) as (keyof typeof GgmlType)[]).map((name) => {
    const [blockSize, typeSize] = GEOMETRY[name];
    return [GgmlType[name], { name, blockSize, typeSize }];
  }),
);

/** Geometry of a ggml type id (accepts plain numbers, e.g. node-llama-cpp's GgmlType enum). */
export function ggmlTypeInfo(type: number): GgmlTypeInfo {
  const info = INFO.get(type);
  if (!info) throw new Error(`unknown ggml type ${type}`);
  return info;
}

export function ggmlTypeName(type: number): string {
  return ggmlTypeInfo(type).name;
}

/** Bytes of one row of `rowLength` elements; the row length must be a whole number of blocks. */
export function rowByteSize(type: number, rowLength: number): number {
  const { blockSize, typeSize, name } = ggmlTypeInfo(type);
  if (rowLength % blockSize !== 0) {
    throw new Error(`row length ${rowLength} is not a multiple of the ${name} block size ${blockSize}`);
  }
  return (rowLength / blockSize) * typeSize;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes of a tensor with ggml shape `shape` (shape[0] is the row length, ne0). */
export function tensorByteSize(type: number, shape: readonly number[]): number {
  const rowLength = shape[0] ?? 1;
  return rowByteSize(type, rowLength) * (elementCount(shape) / rowLength);
}

/** llama_ftype values (general.file_type) of the mixes this project writes. */
export const LlamaFileType = {
  ALL_F32: 0,
  MOSTLY_F16: 1,
  MOSTLY_Q8_0: 7,
  MOSTLY_Q4_K_M: 15,
} as const;
export type LlamaFileType = (typeof LlamaFileType)[keyof typeof LlamaFileType];
