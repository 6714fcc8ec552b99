// The native Adapter (sidecar/native/adapter.cpp): the HEF projector and fuser projections as ggml
// graphs against a float64 reference, and one-line errors for broken adapter files.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AdapterTensor } from "../../sidecar/adapter/adapterFormat";
import { GgmlType } from "../../sidecar/models/ggmlTypes";
import { floatArray } from "../../sidecar/syntheticModels/gguf/tensorData";
import { Prng } from "../../sidecar/util/prng";
import { AdapterOps } from "../../sidecar/native/adapterOps";
import {
  type AdapterWeights,
  adapterTensors,
  erf,
  linearRows,
  projectReference,
  randomAdapterWeights,
  writeAdapterFile,
} from "../helpers/adapterReference";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();
const dir = mkdtempSync(join(tmpdir(), "hef-adapter-test-"));
const SIZES = { d: 48, hidden: 96, dG: 40, dF: 32 };

function randomRows(rows: number, dim: number, seed: string, std = 1): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: rows * dim }, () => prng.normal() * std);
}

describe("native adapter ops", { skip }, () => {
  let weights: AdapterWeights;
  let ops: AdapterOps;
  let path = "";

  before(async () => {
    weights = randomAdapterWeights(SIZES, "adapter-ops");
    path = join(dir, "adapter.gguf");
    await writeAdapterFile(path, weights);
    ops = await AdapterOps.load(path, { backend: "cpu" });
  });
  after(() => {
    ops?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test("erf in the reference is exact to double precision", () => {
    // Values from a 50-digit computation.
    const known: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [5, 0.9999999999984626],
    ];
    for (const [x, value] of known) {
      assert.ok(Math.abs(erf(x) - value) < 1e-15, `erf(${x}) = ${erf(x)}`);
      assert.ok(Math.abs(erf(-x) + value) < 1e-15);
    }
  });

  test("info names every tensor with its shape", () => {
    const info = ops.info;
    assert.equal(info.backend, "CPU");
    assert.deepEqual([info.d, info.hidden, info.dG, info.dF, info.hasFuser], [48, 96, 40, 32, true]);
    const shapes = Object.fromEntries(info.tensors.map((t) => [t.name, t.shape]));
    assert.deepEqual(shapes, {
      "proj.w1": [48, 96],
      "proj.b1": [96],
      "proj.w2": [96, 40],
      "proj.b2": [40],
      "fuser.in.w": [48, 32],
      "fuser.in.b": [32],
      "fuser.out.w": [32, 48],
    });
    assert.ok(info.tensors.every((t) => t.type === "f32"));
  });

  test("project, fuserIn and fuserOut equal the float64 reference", (t) => {
    for (const rows of [1, 7, 64]) {
      // Scale 3 reaches GELU's tails, where the tanh approximation would be visibly off.
      const z = randomRows(rows, SIZES.d, `z${rows}`, 3);
      const p = ops.project(z, rows);
      assert.equal(p.length, rows * SIZES.dG);
      const dp = maxAbsDiff(p, projectReference(weights, z, rows));
      const fi = ops.fuserIn(z, rows);
      const dfi = maxAbsDiff(fi, linearRows(weights.fuserIn!, z, rows, weights.fuserInBias));
      const h = randomRows(rows, SIZES.dF, `h${rows}`);
      const dfo = maxAbsDiff(ops.fuserOut(h, rows), linearRows(weights.fuserOut!, h, rows));
      t.diagnostic(
        `${rows} rows: max |diff| project ${dp.toExponential(2)}, fuserIn ${dfi.toExponential(2)}, fuserOut ${dfo.toExponential(2)}`,
      );
      for (const diff of [dp, dfi, dfo]) assert.ok(diff < 1e-4, `max |diff| ${diff}`);
    }
  });

  test("one call of K rows equals K calls of one row", () => {
    const rows = 5;
    const z = randomRows(rows, SIZES.d, "batch", 2);
    const all = ops.project(z, rows);
    for (let r = 0; r < rows; r++) {
      const one = ops.project(z.slice(r * SIZES.d, (r + 1) * SIZES.d), 1);
      assert.ok(maxAbsDiff(one, Float64Array.from(all.subarray(r * SIZES.dG, (r + 1) * SIZES.dG))) < 1e-5);
    }
  });

  test("rejects inputs of the wrong size", () => {
    assert.throws(() => ops.project(new Float32Array(SIZES.d * 2), 3), /project: expected 3 rows of 48 floats, got 96/);
    assert.throws(() => ops.fuserOut(new Float32Array(SIZES.d), 1), /fuserOut: expected 1 rows of 32 floats/);
  });

  test("an adapter without a learned fuser projects and says it has no fuser", async () => {
    const w = randomAdapterWeights({ ...SIZES, dF: 0 }, "no-fuser");
    const file = join(dir, "projector-only.gguf");
    await writeAdapterFile(file, w);
    const projector = await AdapterOps.load(file, { backend: "cpu" });
    try {
      assert.equal(projector.info.hasFuser, false);
      const z = randomRows(3, SIZES.d, "pz");
      assert.ok(maxAbsDiff(projector.project(z, 3), projectReference(w, z, 3)) < 1e-4);
      assert.throws(() => projector.fuserIn(z, 3), /has no learned fuser/);
    } finally {
      projector.dispose();
    }
  });

  test("broken files give one-line errors naming the file and the problem", async () => {
    const expectError = async (file: string, pattern: RegExp): Promise<void> => {
      await assert.rejects(AdapterOps.load(file, { backend: "cpu" }), (error: Error) => {
        assert.ok(error.message.startsWith(`${file}: `), error.message);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes("\n"), error.message);
        return true;
      });
    };
    await expectError(join(dir, "missing.gguf"), /adapter file not found/);

    const truncated = join(dir, "truncated.gguf");
    const bytes = readFileSync(path);
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await expectError(truncated, /truncated: tensor fuser\.out\.w ends at byte \d+, the file has \d+/);
    writeFileSync(truncated, bytes.subarray(0, 40));
    await expectError(truncated, /truncated or not a GGUF file/);

    const text = join(dir, "text.gguf");
    writeFileSync(text, "this is not a GGUF file at all, just some text to read\n");
    await expectError(text, /not a GGUF file/);

    const tensors = adapterTensors(weights);
    const without = (name: string) => tensors.filter((t) => t.name !== name);
    const replace = (name: string, shape: number[]) => [
      ...without(name),
      {
        name,
        shape,
        type: GgmlType.F32,
        data: floatArray(GgmlType.F32, shape[0]!, new Float32Array(shape.reduce((a, b) => a * b, 1))),
      },
    ];
    const broken = join(dir, "broken.gguf");
    await writeAdapterFile(broken, weights, without(AdapterTensor.b2));
    await expectError(broken, /missing tensor proj\.b2 \[d_g=40\]/);
    await writeAdapterFile(broken, weights, replace(AdapterTensor.w2, [95, 40]));
    await expectError(broken, /proj\.w2: expected shape \[hidden=96, d_g\], found \[95, 40\]/);
    await writeAdapterFile(broken, weights, replace(AdapterTensor.w2, [96, 40, 2]));
    await expectError(broken, /proj\.w2: expected 2 dims \[hidden=96, d_g\], found 3 dims \[96, 40, 2\]/);
    await writeAdapterFile(broken, weights, without(AdapterTensor.fuserOut));
    await expectError(broken, /missing tensor fuser\.out\.w \[d_f=32, d=48\]/);
  });
});
