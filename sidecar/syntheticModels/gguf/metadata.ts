// GGUF metadata values: typed constructors and their little-endian encoding (GGUF v3).

export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufNumberKind = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type GgufBigKind = "u64" | "i64";
export type GgufItemKind = GgufNumberKind | GgufBigKind | "bool" | "string";

export type GgufValue =
  | { readonly type: GgufNumberKind; readonly value: number }
  | { readonly type: GgufBigKind; readonly value: bigint | number }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "array"; readonly itemType: GgufNumberKind; readonly value: ArrayLike<number> }
  | { readonly type: "array"; readonly itemType: GgufBigKind; readonly value: ArrayLike<bigint | number> }
  | { readonly type: "array"; readonly itemType: "bool"; readonly value: ArrayLike<boolean> }
  | { readonly type: "array"; readonly itemType: "string"; readonly value: ArrayLike<string> };

/** Typed constructors, e.g. `gguf.u32(1024)`, `gguf.array("string", tokens)`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  u64: (value: bigint | number): GgufValue => ({ type: "u64", value }),
  i64: (value: bigint | number): GgufValue => ({ type: "i64", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  array: array,
};

function array(itemType: GgufNumberKind, value: ArrayLike<number>): GgufValue;
function array(itemType: GgufBigKind, value: ArrayLike<bigint | number>): GgufValue;
function array(itemType: "bool", value: ArrayLike<boolean>): GgufValue;
function array(itemType: "string", value: ArrayLike<string>): GgufValue;
function array(itemType: GgufItemKind, value: ArrayLike<unknown>): GgufValue {
  return { type: "array", itemType, value } as GgufValue;
}

const TYPE_CODE: Record<GgufItemKind, number> = {
  u8: GgufValueType.UINT8,
  i8: GgufValueType.INT8,
  u16: GgufValueType.UINT16,
  i16: GgufValueType.INT16,
  u32: GgufValueType.UINT32,
  i32: GgufValueType.INT32,
  f32: GgufValueType.FLOAT32,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
  u64: GgufValueType.UINT64,
  i64: GgufValueType.INT64,
  f64: GgufValueType.FLOAT64,
};

const INT_RANGE: Record<Exclude<GgufNumberKind, "f32" | "f64">, readonly [number, number]> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

/** Appends little-endian GGUF primitives to a growing list of buffers. */
export class ByteSink {
  private readonly parts: Buffer[] = [];
  private current = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.current.length) return;
    if (this.used > 0) this.parts.push(this.current.subarray(0, this.used));
    this.current = Buffer.allocUnsafe(Math.max(1 << 16, bytes));
    this.used = 0;
  }

  private advance(bytes: number): number {
    this.reserve(bytes);
    const at = this.used;
    this.used += bytes;
    this.total += bytes;
    return at;
  }

  // advance() may swap in a new buffer, so it runs before this.current is read.
  private at(bytes: number): [Buffer, number] {
    const offset = this.advance(bytes);
    return [this.current, offset];
  }

  u8(v: number): void {
    const [b, o] = this.at(1);
    b.writeUInt8(v, o);
  }
  i8(v: number): void {
    const [b, o] = this.at(1);
    b.writeInt8(v, o);
  }
  u16(v: number): void {
    const [b, o] = this.at(2);
    b.writeUInt16LE(v, o);
  }
  i16(v: number): void {
    const [b, o] = this.at(2);
    b.writeInt16LE(v, o);
  }
  u32(v: number): void {
    const [b, o] = this.at(4);
    b.writeUInt32LE(v, o);
  }
  i32(v: number): void {
    const [b, o] = this.at(4);
    b.writeInt32LE(v, o);
  }
  u64(v: bigint | number): void {
    const [b, o] = this.at(8);
    b.writeBigUInt64LE(BigInt(v), o);
  }
  i64(v: bigint | number): void {
    const [b, o] = this.at(8);
    b.writeBigInt64LE(BigInt(v), o);
  }
  f32(v: number): void {
    const [b, o] = this.at(4);
    b.writeFloatLE(v, o);
  }
  f64(v: number): void {
    const [b, o] = this.at(8);
    b.writeDoubleLE(v, o);
  }
  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  /** GGUF string: u64 byte length + UTF-8 bytes (no terminator). */
  string(v: string): void {
    const bytes = Buffer.byteLength(v, "utf8");
    this.u64(bytes);
    const [b, o] = this.at(bytes);
    b.write(v, o, bytes, "utf8");
  }

  zeros(count: number): void {
    const [b, o] = this.at(count);
    b.fill(0, o, o + count);
  }

  toBuffer(): Buffer {
    return Buffer.concat([...this.parts, this.current.subarray(0, this.used)], this.total);
  }
}

function checkItem(kind: GgufItemKind, v: unknown, key: string): void {
  const fail = (why: string): never => {
    throw new Error(`GGUF metadata "${key}": ${why} (${String(v)} as ${kind})`);
  };
  switch (kind) {
    case "string":
      if (typeof v !== "string") fail("not a string");
      return;
    case "bool":
      if (typeof v !== "boolean") fail("not a boolean");
      return;
    case "f32":
    case "f64":
      if (typeof v !== "number") fail("not a number");
      return;
    case "u64":
    case "i64": {
      if (typeof v !== "bigint" && !(typeof v === "number" && Number.isSafeInteger(v))) fail("not an integer");
      const big = BigInt(v as bigint | number);
      const [lo, hi] = kind === "u64" ? [0n, (1n << 64n) - 1n] : [-(1n << 63n), (1n << 63n) - 1n];
      if (big < lo || big > hi) fail("out of range");
      return;
    }
    default: {
      if (typeof v !== "number" || !Number.isInteger(v)) fail("not an integer");
      const [lo, hi] = INT_RANGE[kind];
      if ((v as number) < lo || (v as number) > hi) fail("out of range");
    }
  }
}

function writeItem(sink: ByteSink, kind: GgufItemKind, v: unknown): void {
  switch (kind) {
    case "string":
      return sink.string(v as string);
    case "bool":
      return sink.bool(v as boolean);
    case "u64":
      return sink.u64(v as bigint | number);
    case "i64":
      return sink.i64(v as bigint | number);
    default:
      return sink[kind](v as number);
  }
}

/** Appends one key/value pair (key string, value type, value) to `sink`, validating types and ranges. */
export function writeKeyValue(sink: ByteSink, key: string, value: GgufValue): void {
  if (key.length === 0) throw new Error("GGUF metadata key must not be empty");
  sink.string(key);
  if (value.type === "array") {
    const items = value.value as ArrayLike<unknown>;
    for (let i = 0; i < items.length; i++) checkItem(value.itemType, items[i], key);
    sink.u32(GgufValueType.ARRAY);
    sink.u32(TYPE_CODE[value.itemType]);
    sink.u64(items.length);
    for (let i = 0; i < items.length; i++) writeItem(sink, value.itemType, items[i]);
    return;
  }
  checkItem(value.type, value.value, key);
  sink.u32(TYPE_CODE[value.type]);
  writeItem(sink, value.type, value.value);
}
