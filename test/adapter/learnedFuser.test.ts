// The learned fuser (paper 3.3) as the cache uses it: parent = W_out · Transformer([W_in h_i + b_in])_last,
// against an independent float64 reference, for groups of different sizes packed in one call.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readAdapter } from "../../sidecar/adapter/adapter";
import { AdapterKey } from "../../sidecar/adapter/adapterFormat";
import { LearnedFuser } from "../../sidecar/adapter/learnedFuser";
import { writeModel } from "../../sidecar/syntheticModels/buildModel";
import { gguf } from "../../sidecar/syntheticModels/gguf/metadata";
import { Prng } from "../../sidecar/util/prng";
import { AdapterOps } from "../../sidecar/native/adapterOps";
import { linearRows, randomAdapterWeights, writeAdapterFile } from "../helpers/adapterReference";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { FUSER_SPEC, loadQwen2Reference } from "../helpers/qwen2Reference";
import { tempDir } from "../helpers/repos";

const skip = buildNativeAddon();
const dir = tempDir("hef-learned-fuser-");
const D = 16;
const weights = randomAdapterWeights({ d: D, hidden: 32, dG: 24, dF: FUSER_SPEC.hidden }, "learned-fuser-test");
let ops: AdapterOps;
let fuser: LearnedFuser;

describe("learned fuser", { skip }, () => {
  before(async () => {
    await writeModel(FUSER_SPEC, join(dir, "fuser.gguf"));
    const path = join(dir, "adapter.gguf");
    await writeAdapterFile(path, weights, undefined, {
      [AdapterKey.k]: gguf.u32(8),
      [AdapterKey.b]: gguf.u32(4),
      [AdapterKey.fuserModel]: gguf.str("fuser.gguf"),
      [AdapterKey.fuserDim]: gguf.u32(FUSER_SPEC.hidden),
    });
    const adapter = await readAdapter(path);
    ops = await AdapterOps.load(path, { backend: "cpu" });
    fuser = await LearnedFuser.load(adapter, ops, { gpuLayers: 0 });
  });
  after(async () => {
    await fuser?.dispose();
    ops?.dispose();
  });

  test("parents equal a float64 reference within 1e-4, groups of 1 to 4 children in one call", async () => {
    const prng = new Prng("children");
    const groups = [1, 4, 3, 2].map((n) =>
      Array.from({ length: n }, () => Float32Array.from({ length: D }, () => prng.normal())),
    );
    const parents = await fuser.fuse(groups);
    const reference = await loadQwen2Reference(join(dir, "fuser.gguf"));
    let worst = 0;
    groups.forEach((children, i) => {
      const input = new Float32Array(children.length * D);
      children.forEach((child, row) => input.set(child, row * D));
      const projected = linearRows(weights.fuserIn!, input, children.length, weights.fuserInBias);
      const last = reference.lastHidden(Float32Array.from(projected));
      const expected = linearRows(weights.fuserOut!, last, 1);
      assert.equal(parents[i]!.length, D);
      for (let j = 0; j < D; j++) worst = Math.max(worst, Math.abs(parents[i]![j]! - expected[j]!));
    });
    assert.ok(worst < 1e-4, `max abs difference ${worst}`);
  });

  test("its id names the adapter and transformer weights; vectors of another dimension are refused", async () => {
    assert.match(fuser.id, /^learned-[0-9a-f]{16}$/);
    await assert.rejects(fuser.fuse([[new Float32Array(D + 1)]]), /dimension 17/);
  });
});
