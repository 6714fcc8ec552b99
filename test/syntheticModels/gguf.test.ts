import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import { f16BitsToF32, f32ToF16Bits } from "../../sidecar/syntheticModels/gguf/f16";
import { GgmlType, tensorByteSize } from "../../sidecar/models/ggmlTypes";
import { gguf, type GgufValue } from "../../sidecar/syntheticModels/gguf/metadata";
import { quantizeQ8_0 } from "../../sidecar/syntheticModels/gguf/quantize";
import { randomQuantBlocks } from "../../sidecar/syntheticModels/gguf/randomQuant";
import { floatArray, rawBytes, zeroBytes } from "../../sidecar/syntheticModels/gguf/tensorData";
import { type GgufTensor, layoutGguf, writeGguf } from "../../sidecar/syntheticModels/gguf/writer";
import { Prng } from "../../sidecar/util/prng";

const dir = mkdtempSync(join(tmpdir(), "hef-gguf-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Independent half -> float decoding (not the module under test). */
function halfToFloat(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m / 16777216 : e === 31 ? (m ? NaN : Infinity) : (1024 + m) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = [...chunks].map((c) => Buffer.from(c));
  return Buffer.concat(parts);
}

describe("f16", () => {
  test("round-to-nearest-even conversion matches the exact half grid", () => {
    assert.equal(f32ToF16Bits(0), 0);
    assert.equal(f32ToF16Bits(-0), 0x8000);
    assert.equal(f32ToF16Bits(1), 0x3c00);
    assert.equal(f32ToF16Bits(-2), 0xc000);
    assert.equal(f32ToF16Bits(65504), 0x7bff);
    assert.equal(f32ToF16Bits(1e6), 0x7c00); // overflow to infinity
    assert.equal(f32ToF16Bits(Number.NaN) & 0x7e00, 0x7e00);
    assert.equal(f32ToF16Bits(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie rounds to even
    assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02);
    const prng = new Prng("f16");
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround(prng.normal() * 2 ** (prng.below(30) - 20)); // within the finite half range
      const h = f32ToF16Bits(x);
      assert.equal(f16BitsToF32(h), halfToFloat(h));
      // no other half value is closer
      const up = halfToFloat(h + 1);
      const down = halfToFloat(h - 1);
      const err = Math.abs(halfToFloat(h) - x);
      if (Number.isFinite(up)) assert.ok(err <= Math.abs(up - x), `${x}`);
      if (h & 0x7fff) assert.ok(err <= Math.abs(down - x), `${x}`);
    }
  });
});

describe("Q8_0", () => {
  test("quantization is within the format's error bound of an independent dequantization", () => {
    const prng = new Prng("q8");
    const blocks = 512;
    const x = new Float32Array(blocks * 32);
    for (let b = 0; b < blocks; b++) {
      const scale = 10 ** (prng.below(12) - 6);
      for (let j = 0; j < 32; j++) x[b * 32 + j] = b % 17 === 0 ? 0 : prng.normal() * scale;
    }
    x[40] = 3.5; // a block with one outlier
    const bytes = new Uint8Array(blocks * 34);
    assert.equal(quantizeQ8_0(x, bytes, 0), bytes.length);
    for (let b = 0; b < blocks; b++) {
      const view = bytes.subarray(b * 34, (b + 1) * 34);
      const d = halfToFloat(view[0]! | (view[1]! << 8));
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
      const dExact = amax / 127;
      // the scale is amax/127 stored as f16 (relative error 2^-11; absolute 2^-25 when subnormal)
      assert.ok(Math.abs(d - dExact) <= Math.max(dExact * 2 ** -11, 2 ** -25), `block ${b} scale`);
      for (let j = 0; j < 32; j++) {
        const q = (view[2 + j]! << 24) >> 24;
        assert.ok(q >= -127 && q <= 127);
        const bound = dExact / 2 + 127 * Math.abs(d - dExact) + 1e-12;
        assert.ok(Math.abs(q * d - x[b * 32 + j]!) <= bound, `block ${b} value ${j}`);
      }
      if (amax === 0) assert.deepEqual([...view], new Array(34).fill(0));
    }
  });

  test("random quant blocks decode to small centred weights, deterministically", () => {
    const a = concat(randomQuantBlocks(GgmlType.Q8_0, 32 * 20000, "seed", 0.02));
    const b = concat(randomQuantBlocks(GgmlType.Q8_0, 32 * 20000, "seed", 0.02));
    const c = concat(randomQuantBlocks(GgmlType.Q8_0, 32 * 20000, "other", 0.02));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    let sum = 0;
    let sq = 0;
    for (let blk = 0; blk < 20000; blk++) {
      const d = halfToFloat(a[blk * 34]! | (a[blk * 34 + 1]! << 8));
      for (let j = 0; j < 32; j++) {
        const v = d * ((a[blk * 34 + 2 + j]! << 24) >> 24);
        sum += v;
        sq += v * v;
      }
    }
    const n = 32 * 20000;
    assert.ok(Math.abs(sum / n) < 0.001);
    assert.ok(Math.abs(Math.sqrt(sq / n) - 0.02) < 0.003);
    for (const type of [GgmlType.Q4_K, GgmlType.Q6_K] as const) {
      const bytes = concat(randomQuantBlocks(type, 256 * 100, "k", 0.02));
      assert.equal(bytes.length, tensorByteSize(type, [256, 100]));
    }
  });
});

describe("GGUF writer", () => {
  const metadata: Record<string, GgufValue> = {
    "general.architecture": gguf.str("test"),
    "general.name": gguf.str("round trip ✓"),
    "t.u8": gguf.u8(255),
    "t.i8": gguf.i8(-128),
    "t.u16": gguf.u16(65535),
    "t.i16": gguf.i16(-32768),
    "t.u32": gguf.u32(4294967295),
    "t.i32": gguf.i32(-2147483648),
    "t.u64": gguf.u64(2n ** 64n - 1n),
    "t.i64": gguf.i64(-(2n ** 63n)),
    "t.f32": gguf.f32(1.5),
    "t.f64": gguf.f64(Math.PI),
    "t.yes": gguf.bool(true),
    "t.no": gguf.bool(false),
    "t.empty": gguf.str(""),
    "arr.strings": gguf.array("string", ["a", "b c", "", "日本"]),
    "arr.i32": gguf.array("i32", [1, -2, 3]),
    "arr.u8": gguf.array("u8", new Uint8Array([0, 7, 255])),
    "arr.f32": gguf.array("f32", [0.25, -8]),
    "arr.f64": gguf.array("f64", [1e300]),
    "arr.bool": gguf.array("bool", [true, false]),
    "arr.u64": gguf.array("u64", [1n, 2n ** 40n]),
    "arr.i16": gguf.array("i16", []),
  };
  const f32 = Float32Array.from({ length: 64 * 3 }, (_, i) => i / 7 - 5);
  const tensors: GgufTensor[] = [
    { name: "a.f32", shape: [64, 3], type: GgmlType.F32, data: floatArray(GgmlType.F32, 64, f32) },
    { name: "b.f16", shape: [64, 3], type: GgmlType.F16, data: floatArray(GgmlType.F16, 64, f32) },
    { name: "c.q8_0", shape: [64, 3], type: GgmlType.Q8_0, data: floatArray(GgmlType.Q8_0, 64, f32) },
    {
      name: "d.q4_k",
      shape: [512, 2],
      type: GgmlType.Q4_K,
      data: () => randomQuantBlocks(GgmlType.Q4_K, 1024, "d", 0.02),
    },
    {
      name: "e.q6_k",
      shape: [256, 3, 2],
      type: GgmlType.Q6_K,
      data: () => randomQuantBlocks(GgmlType.Q6_K, 1536, "e", 0.02),
    },
    { name: "f.one", shape: [5], type: GgmlType.F32, data: zeroBytes(20) },
  ];

  test("metadata and tensor infos read back through node-llama-cpp", async () => {
    const path = join(dir, "round-trip.gguf");
    const result = await writeGguf(path, { metadata, tensors });
    const file = readFileSync(path);
    assert.equal(result.bytes, file.length);
    assert.equal(file.subarray(0, 4).toString("latin1"), "GGUF");
    assert.equal(file.readUInt32LE(4), 3);
    const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false });
    assert.equal(info.version, 3);
    assert.equal(Number(info.tensorCount), tensors.length);
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    assert.equal(md.general!.architecture, "test");
    assert.equal(md.general!.name, "round trip ✓");
    assert.equal(md.general!.alignment, 32);
    const t = md.t!;
    assert.deepEqual(
      [t.u8, t.i8, t.u16, t.i16, t.u32, t.i32, t.f32, t.f64, t.yes, t.no, t.empty],
      [255, -128, 65535, -32768, 4294967295, -2147483648, 1.5, Math.PI, true, false, ""],
    );
    assert.equal(BigInt(t.u64 as bigint), 2n ** 64n - 1n);
    assert.equal(BigInt(t.i64 as bigint), -(2n ** 63n));
    const arr = md.arr!;
    assert.deepEqual(arr.strings, ["a", "b c", "", "日本"]);
    assert.deepEqual(arr.i32, [1, -2, 3]);
    assert.deepEqual(arr.u8, [0, 7, 255]);
    assert.deepEqual(arr.f32, [0.25, -8]);
    assert.deepEqual(arr.f64, [1e300]);
    assert.deepEqual(arr.bool, [true, false]);
    assert.deepEqual(
      (arr.u64 as unknown[]).map((v) => BigInt(v as bigint)),
      [1n, 2n ** 40n],
    );
    assert.deepEqual(arr.i16, []);

    const infos = info.tensorInfo!;
    assert.deepEqual(
      infos.map((x) => x.name),
      tensors.map((x) => x.name),
    );
    for (const [i, x] of infos.entries()) {
      assert.deepEqual(x.dimensions.map(Number), [...tensors[i]!.shape]);
      assert.equal(Number(x.ggmlType), tensors[i]!.type);
      assert.equal(Number(x.fileOffset) % 32, 0);
    }
    // tensor bytes land where the infos say
    const at = (name: string): number => Number(infos.find((x) => x.name === name)!.fileOffset);
    assert.equal(file.readFloatLE(at("a.f32") + 4 * 10), Math.fround(f32[10]!));
    assert.equal(halfToFloat(file.readUInt16LE(at("b.f16") + 2 * 10)), halfToFloat(f32ToF16Bits(f32[10]!)));
    const q8 = new Uint8Array(34 * 6);
    quantizeQ8_0(f32, q8, 0);
    assert.deepEqual(new Uint8Array(file.subarray(at("c.q8_0"), at("c.q8_0") + q8.length)), q8);
    const q6 = concat(randomQuantBlocks(GgmlType.Q6_K, 1536, "e", 0.02));
    assert.deepEqual(new Uint8Array(file.subarray(at("e.q6_k"), at("e.q6_k") + q6.length)), new Uint8Array(q6));
    assert.equal(file.length, at("f.one") + 20);
  });

  test("writes atomically: no temp file left, and a failed write leaves no file", async () => {
    const path = join(dir, "atomic.gguf");
    await writeGguf(path, { metadata, tensors });
    const bad: GgufTensor = { name: "short", shape: [32], type: GgmlType.F32, data: rawBytes(new Uint8Array(64)) };
    const failed = join(dir, "failed.gguf");
    await assert.rejects(writeGguf(failed, { metadata, tensors: [bad] }), /produced 64 bytes, expected 128/);
    assert.equal(existsSync(failed), false);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith(".tmp")),
      [],
    );
  });

  test("rejects invalid input before writing", () => {
    const t = (shape: number[], type: GgmlType = GgmlType.F32, name = "x"): GgufTensor => ({
      name,
      shape,
      type,
      data: zeroBytes(0),
    });
    assert.throws(() => layoutGguf({ metadata: {}, tensors: [t([100], GgmlType.Q8_0)] }), /not a multiple/);
    assert.throws(() => layoutGguf({ metadata: {}, tensors: [t([4]), t([4])] }), /duplicate/);
    assert.throws(() => layoutGguf({ metadata: {}, tensors: [t([4], GgmlType.F32, "n".repeat(64))] }), /tensor name/);
    assert.throws(() => layoutGguf({ metadata: { k: gguf.u8(256) }, tensors: [] }), /out of range/);
    assert.throws(() => layoutGguf({ metadata: { k: gguf.i32(1.5) }, tensors: [] }), /not an integer/);
    assert.throws(
      () => layoutGguf({ metadata: { k: gguf.array("string", ["a", 1 as unknown as string]) }, tensors: [] }),
      /not a string/,
    );
  });
});
