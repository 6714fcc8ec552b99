// The HEF adapter file: metadata and shapes read back, every dimension checked against the models,
// and one-line errors for files that cannot serve.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AdapterError, checkAdapter, readAdapter } from "../../sidecar/adapter/adapter";
import { type RandomAdapterSpec, writeRandomAdapter } from "../../sidecar/syntheticModels/randomAdapter";
import { ADAPTER_ARCHITECTURE } from "../../sidecar/adapter/adapterFormat";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";

const dir = mkdtempSync(join(tmpdir(), "hef-adapter-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: RandomAdapterSpec = {
  embedder: { name: "emb", id: "e1", dim: 16 },
  generator: { name: "gen", id: "g1", dim: 24 },
  projectorHidden: 32,
  k: 8,
  b: 4,
  fuser: { name: "fuser", id: "f1", dim: 12, modelPath: join(dir, "fuser.gguf") },
};

describe("adapter file", () => {
  test("metadata and shapes read back as written; the fuser path resolves next to the adapter", async () => {
    const path = join(dir, "a.gguf");
    await writeRandomAdapter(path, SPEC);
    const info = await readAdapter(path);
    assert.deepEqual(info.embedder, SPEC.embedder);
    assert.deepEqual(info.generator, SPEC.generator);
    assert.equal(info.projectorHidden, 32);
    assert.equal(info.k, 8);
    assert.equal(info.b, 4);
    assert.equal(info.fuser?.modelPath, join(dir, "fuser.gguf"));
    assert.equal(info.fuser?.dim, 12);
  });

  test("an adapter without a learned fuser fuses by the mean", async () => {
    const path = join(dir, "nofuser.gguf");
    const { fuser: _, ...spec } = SPEC;
    await writeRandomAdapter(path, spec);
    assert.equal((await readAdapter(path)).fuser, undefined);
  });

  test("every mismatched dimension is named in one error", async () => {
    const path = join(dir, "a.gguf");
    const info = await readAdapter(path);
    const models = {
      embedder: { name: "emb", id: "e1", dim: 16 },
      generator: { name: "gen", id: "g1", dim: 24 },
      fuserDim: 12,
      b: 4,
    };
    assert.deepEqual(checkAdapter(info, models).warnings, []);
    assert.throws(
      () =>
        checkAdapter(info, {
          ...models,
          embedder: { ...models.embedder, dim: 1024 },
          generator: { ...models.generator, dim: 1536 },
          fuserDim: 896,
          b: 8,
        }),
      (error: Error) =>
        error instanceof AdapterError &&
        /embedder d is 1024 \(emb\), the adapter was made for 16/.test(error.message) &&
        /generator d_g is 1536/.test(error.message) &&
        /fuser d_f is 896/.test(error.message) &&
        /branching factor b is 8/.test(error.message),
    );
  });

  test("same dimensions but another model file: loads with a warning", async () => {
    const info = await readAdapter(join(dir, "a.gguf"));
    const { warnings } = checkAdapter(info, {
      embedder: { name: "other", id: "e2", dim: 16 },
      generator: { name: "gen", id: "g1", dim: 24 },
      fuserDim: 12,
      b: 4,
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /made for embedder emb/);
  });

  test("missing, truncated and foreign files get one-line errors naming the file", async () => {
    const missing = join(dir, "missing.gguf");
    await assert.rejects(
      readAdapter(missing),
      (e: Error) => e instanceof AdapterError && e.message.startsWith(missing) && /not found/.test(e.message),
    );
    const truncated = join(dir, "truncated.gguf");
    const bytes = readFileSync(join(dir, "a.gguf"));
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(
      readAdapter(truncated),
      (e: Error) => e instanceof AdapterError && /truncated/.test(e.message),
    );
    const model = await ensureTinyModel("tiny-generator");
    await assert.rejects(
      readAdapter(model),
      (e: Error) => e instanceof AdapterError && e.message.includes(`expected "${ADAPTER_ARCHITECTURE}"`),
    );
  });

  test("a tensor whose shape contradicts the metadata is named", async () => {
    const path = join(dir, "wrong.gguf");
    // The same weights declared for a 20-dimensional generator: proj.w2 and proj.b2 no longer fit.
    await writeRandomAdapter(path, SPEC);
    const bytes = readFileSync(path);
    const key = Buffer.from("hef.generator.dim");
    const at = bytes.indexOf(key) + key.length + 4;
    bytes.writeUInt32LE(20, at);
    writeFileSync(path, bytes);
    await assert.rejects(
      readAdapter(path),
      (e: Error) => e instanceof AdapterError && /tensor proj\.w2 is 32x24, the metadata implies 32x20/.test(e.message),
    );
  });
});
