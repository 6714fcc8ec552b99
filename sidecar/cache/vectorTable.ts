/**
 * A persisted map from hex keys to float32 vectors of one dimension: the embedding cache
 * (content hash -> chunk vector) and the fused node vectors (node id -> vector).
 * Layout: "HEFV", u32 version, u32 dim, u32 key bytes, u32 count, then count x (key, dim x f32).
 */
const MAGIC = "HEFV";
const VERSION = 1;
const HEADER_BYTES = 20;

export class VectorTable {
  private readonly vectors = new Map<string, Float32Array>();

  constructor(
    readonly dim: number,
    /** Keys are hex strings of exactly twice this many characters. */
    readonly keyBytes: number,
  ) {}

  get size(): number {
    return this.vectors.size;
  }
  get(key: string): Float32Array | undefined {
    return this.vectors.get(key);
  }
  has(key: string): boolean {
    return this.vectors.has(key);
  }
  keys(): IterableIterator<string> {
    return this.vectors.keys();
  }
  delete(key: string): void {
    this.vectors.delete(key);
  }
  set(key: string, vector: Float32Array): void {
    if (key.length !== this.keyBytes * 2) throw new Error(`vector key ${key} is not ${this.keyBytes} bytes of hex`);
    if (vector.length !== this.dim) {
      throw new Error(`vector for ${key} has dimension ${vector.length}, the table holds ${this.dim}`);
    }
    this.vectors.set(key, vector);
  }

  /** Keeps only the keys for which keep() is true. */
  retain(keep: (key: string) => boolean): void {
    for (const key of this.vectors.keys()) if (!keep(key)) this.vectors.delete(key);
  }

  serialize(): Buffer {
    const entryBytes = this.keyBytes + this.dim * 4;
    const out = Buffer.alloc(HEADER_BYTES + this.vectors.size * entryBytes);
    out.write(MAGIC, 0, "latin1");
    out.writeUInt32LE(VERSION, 4);
    out.writeUInt32LE(this.dim, 8);
    out.writeUInt32LE(this.keyBytes, 12);
    out.writeUInt32LE(this.vectors.size, 16);
    let offset = HEADER_BYTES;
    for (const [key, vector] of this.vectors) {
      out.write(key, offset, "hex");
      Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(out, offset + this.keyBytes);
      offset += entryBytes;
    }
    return out;
  }

  /** Throws a message naming what is wrong: a truncated or foreign file must never load half. */
  static parse(data: Buffer, expected: { dim: number; keyBytes: number }): VectorTable {
    if (data.length < HEADER_BYTES || data.toString("latin1", 0, 4) !== MAGIC) {
      throw new Error("not a vector table (bad header)");
    }
    const version = data.readUInt32LE(4);
    const dim = data.readUInt32LE(8);
    const keyBytes = data.readUInt32LE(12);
    const count = data.readUInt32LE(16);
    if (version !== VERSION) throw new Error(`vector table version ${version}, expected ${VERSION}`);
    if (dim !== expected.dim) throw new Error(`vector table has dimension ${dim}, expected ${expected.dim}`);
    if (keyBytes !== expected.keyBytes)
      throw new Error(`vector table keys are ${keyBytes} bytes, expected ${expected.keyBytes}`);
    const entryBytes = keyBytes + dim * 4;
    if (data.length !== HEADER_BYTES + count * entryBytes) {
      throw new Error(
        `vector table is ${data.length} bytes, ${count} entries need ${HEADER_BYTES + count * entryBytes}`,
      );
    }
    const table = new VectorTable(dim, keyBytes);
    for (let i = 0, offset = HEADER_BYTES; i < count; i++, offset += entryBytes) {
      const key = data.toString("hex", offset, offset + keyBytes);
      // Copy: views into one big buffer would pin it in memory for as long as any vector lives.
      const vector = new Float32Array(dim);
      Buffer.from(vector.buffer).set(data.subarray(offset + keyBytes, offset + entryBytes));
      table.vectors.set(key, vector);
    }
    return table;
  }
}
