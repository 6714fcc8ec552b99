// One engine, one query path: `hef query` retrieves what the editor's engine retrieves for the same
// cursor, and whoever built the retriever frees every native handle it loaded.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { splitAtLine } from "../../sidecar/cli/complete";
import { loadEngine } from "../../sidecar/completion/engine";
import { Retriever } from "../../sidecar/completion/retriever";
import { writeModel } from "../../sidecar/syntheticModels/buildModel";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { modelSpec } from "../../sidecar/syntheticModels/modelSpecs";
import { writeRandomAdapter } from "../../sidecar/syntheticModels/randomAdapter";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { FUSER_SPEC } from "../helpers/qwen2Reference";
import { copyOfRepo, tempDir } from "../helpers/repos";

const skip = buildNativeAddon();
const embedder = { name: "tiny-embed", id: "", dim: modelSpec("tiny-embed").hidden };
const generator = { name: "tiny-generator", id: "", dim: modelSpec("tiny-generator").hidden };

/** The retriever on the tiny test embedder, no adapter. */
const tinyRetriever = async () =>
  Retriever.load({ embedderPath: await ensureTinyModel("tiny-embed"), backend: "cpu", log: () => undefined });

/** Every query window the retriever's encoder embeds from now on: its length, slot and what was reused. */
function recordQueryWindows(retriever: Retriever) {
  const windows: { tokens: number; slot: string | undefined; decoded: number; reused: number }[] = [];
  const encoder = retriever.embedder.encoder;
  const embedTokens = encoder.embedTokens.bind(encoder);
  encoder.embedTokens = async (tokens, slot) => {
    const result = await embedTokens(tokens, slot);
    windows.push({ tokens: tokens.length, slot, decoded: result.decoded, reused: result.reused });
    return result;
  };
  return windows;
}

describe("the retriever", { skip }, () => {
  test("hef query retrieves the node ids the engine retrieves for the same cursor", async () => {
    const root = copyOfRepo("samples/shop");
    // A prefix far longer than the 512-token query window, so that how the window is cut decides what is retrieved.
    const words = ["price", "stock", "order", "refund", "basket", "coupon", "invoice", "parcel", "ledger", "tax"];
    const body = Array.from(
      { length: 160 },
      (_, i) => `def ${words[i % 10]}_${i}(${words[(i * 3) % 10]}):\n    return ${words[(i * 7) % 10]} * ${i}\n`,
    );
    writeFileSync(join(root, "shop/long.py"), body.join("\n"));
    const cacheDir = tempDir("hef-retriever-cache-");
    const adapterPath = join(tempDir("hef-retriever-adapter-"), "adapter.gguf");
    // b = 4, not the default 8: a command that built its cache with other settings than the engine retrieves other nodes.
    await writeRandomAdapter(adapterPath, { embedder, generator, projectorHidden: 16, b: 4 });
    const embedderPath = await ensureTinyModel("tiny-embed");
    const generatorPath = await ensureTinyModel("tiny-generator");
    const file = "shop/long.py";
    const line = 400;
    const k = 8;

    const cli = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "sidecar/cli/hef.ts",
        "query",
        root,
        "--file",
        file,
        "--line",
        String(line),
        "--k",
        String(k),
        "--json",
      ].concat(["--embedder", embedderPath, "--adapter", adapterPath, "--cache-dir", cacheDir, "--backend", "cpu"]),
      { encoding: "utf8" },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const queried = JSON.parse(cli.stdout) as { nodes: { id: string }[] };

    const engine = await loadEngine({ embedderPath, generatorPath, adapterPath, backend: "cpu", log: () => undefined });
    try {
      const cache = await engine.openRepository(root, { cacheDir });
      await cache.sync();
      const { prefix, suffix } = splitAtLine(readFileSync(join(root, file), "utf8"), line, file);
      const completed = await engine.complete(cache, { path: file, prefix, suffix, mode: "hef", k, maxTokens: 1 });
      assert.equal(completed.nodes.length, k);
      assert.deepEqual(completed.nodes.map((node) => node.id).sort(), queried.nodes.map((node) => node.id).sort());
    } finally {
      await engine.dispose();
    }
  });

  test("one embedder model embeds chunks and query windows: a refresh between two queries keeps the window's cache", async () => {
    const root = copyOfRepo("samples/shop");
    const retriever = await tinyRetriever();
    try {
      const encoder = retriever.embedder.encoder;
      const windows = recordQueryWindows(retriever);
      let chunks = 0;
      const embedChunk = encoder.embedChunk.bind(encoder);
      encoder.embedChunk = (tokens) => {
        chunks++;
        return embedChunk(tokens);
      };
      const cache = await retriever.openRepository(root, { cacheDir: tempDir("hef-retriever-once-") });
      await cache.sync();
      const prefix = readFileSync(join(root, "shop/cart.py"), "utf8");
      await retriever.query(cache, prefix, 4);
      const indexed = chunks;
      appendFileSync(join(root, "shop/pricing/tax.py"), "\n\ndef surcharge(amount):\n    return amount * 2\n");
      await cache.refresh([join(root, "shop/pricing/tax.py")]);
      await retriever.query(cache, prefix, 4);
      assert.ok(indexed > 0 && chunks > indexed, `chunks embedded: ${indexed} at sync, ${chunks} after the refresh`);
      const decoded = windows.map((w) => w.decoded);
      assert.equal(decoded.length, 2);
      assert.ok(decoded[0]! > 0);
      assert.equal(decoded[1], 0);
    } finally {
      await retriever.dispose();
    }
  });

  test("the warm-up embeds one full query window in a slot of its own and leaves nothing cached there", async () => {
    const root = copyOfRepo("samples/shop");
    const retriever = await tinyRetriever();
    try {
      const windows = recordQueryWindows(retriever);
      const calls = () => windows.map(({ tokens, decoded, reused }) => ({ tokens, decoded, reused }));
      const cache = await retriever.openRepository(root, { cacheDir: tempDir("hef-retriever-warm-") });
      await cache.sync();
      const prefix = readFileSync(join(root, "shop/cart.py"), "utf8");
      await retriever.query(cache, prefix, 4, undefined, "shop/cart.py");
      await retriever.warmUp();
      assert.equal(calls()[1]!.tokens, retriever.embedder.maxTokens, "a whole window");
      const back = await retriever.query(cache, prefix, 4, undefined, "shop/cart.py");
      assert.ok(back.nodes.length > 0);
      assert.deepEqual(
        calls()[2],
        { ...calls()[0]!, decoded: 0, reused: calls()[0]!.tokens },
        "a document's window outlives the warm-up",
      );
      // The warm-up's own filler in any slot: had its positions stayed cached there, this would reuse them.
      for (const slot of [undefined, "\0warm-up"]) {
        await retriever.query(cache, "x\n".repeat(retriever.embedder.maxTokens * 2), 4, undefined, slot);
        assert.deepEqual(calls().at(-1), {
          tokens: retriever.embedder.maxTokens,
          decoded: retriever.embedder.maxTokens,
          reused: 0,
        });
      }
    } finally {
      await retriever.dispose();
    }
  });

  test("an adapter with a learned fuser: dispose frees its maps (AdapterOps) once", async () => {
    const dir = tempDir("hef-retriever-fuser-");
    const fuserPath = join(dir, "fuser.gguf");
    await writeModel(FUSER_SPEC, fuserPath);
    const adapterPath = join(dir, "adapter.gguf");
    await writeRandomAdapter(adapterPath, {
      embedder,
      generator,
      projectorHidden: 16,
      fuser: { name: "fuser", id: "", dim: FUSER_SPEC.hidden, modelPath: fuserPath },
    });
    const retriever = await Retriever.load({
      embedderPath: await ensureTinyModel("tiny-embed"),
      adapterPath,
      backend: "cpu",
      log: () => undefined,
    });
    const ops = retriever.ops!;
    let freed = 0;
    const free = ops.dispose.bind(ops);
    ops.dispose = () => {
      freed++;
      free();
    };
    await retriever.dispose();
    await retriever.dispose();
    assert.equal(freed, 1);
  });
});
