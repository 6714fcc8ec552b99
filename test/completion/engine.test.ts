// The completion engine end to end on the embedded default models: the three modes, the timing
// breakdown, reuse on the next keystroke, cancellation, concurrent requests and entity names.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { HefCache } from "../../sidecar/cache/hefCache";
import { loadEngine } from "../../sidecar/completion/engine";
import type { Retriever } from "../../sidecar/completion/retriever";
import type { CompletionEngine, CompletionRequest } from "../../sidecar/completion/types";
import { copyOfRepo, tempDir } from "../helpers/repos";

let engine: CompletionEngine;
let cache: HefCache;
let request: CompletionRequest;

// Made at the top level: tempDir's clean-up registered inside before() would run right after it.
const root = copyOfRepo("samples/shop");
const cacheDir = tempDir("hef-engine-cache-");
const otherRoot = copyOfRepo("node_modules/vscode-jsonrpc/lib/common");
const otherCacheDir = tempDir("hef-engine-other-cache-");

before(async () => {
  engine = await loadEngine({ backend: "cpu", log: () => undefined });
  cache = await engine.openRepository(root, { cacheDir });
  await cache.sync();
  const text = readFileSync(join(root, "shop/cart.py"), "utf8");
  const cut = text.indexOf("    def total");
  request = {
    path: "shop/cart.py",
    prefix: text.slice(0, cut),
    suffix: text.slice(cut),
    mode: "hef",
    maxTokens: 8,
    fixedLength: true,
  };
});
after(() => engine?.dispose());

describe("completion engine", () => {
  test("hef: one pseudo-token per retrieved node, every stage timed", async () => {
    const result = await engine.complete(cache, { ...request, k: 8 });
    assert.equal(result.nodes.length, 8);
    assert.equal(result.pseudoTokens, 8);
    assert.equal(result.generatedTokens, 8);
    assert.ok(result.promptTokens > 0);
    assert.ok(
      result.contextTokens > result.promptTokens,
      "the same nodes' raw text costs more than their pseudo-tokens",
    );
    for (const stage of ["queryEmbed", "search", "projection", "prefill", "decode"] as const)
      assert.ok(result.timings[stage] > 0, stage);
    assert.ok(result.timings.total >= result.timings.prefill + result.timings.decode);
  });

  test("hef: the snippet injection it is compared with costs at most rag's budget, however much source a node covers", async () => {
    const all = { ...request, k: cache.stats.nodes };
    const whole = await engine.complete(cache, all);
    assert.ok(
      whole.nodes.some((node) => node.level === "repo"),
      "the repository node covers every chunk",
    );
    const budget = 100;
    const capped = await engine.complete(cache, { ...all, ragBudget: budget });
    assert.ok(whole.contextTokens > budget, `${whole.contextTokens} tokens of source`);
    assert.equal(capped.contextTokens, budget);
  });

  test("the next keystroke at the same place re-decodes only what changed", async () => {
    // Without FIM only the typed tokens (and the generated ones after them) are new; with FIM the
    // suffix follows the prefix in the prompt, so it is decoded again too.
    for (const fim of [false, true]) {
      const first = await engine.complete(cache, { ...request, fim });
      const next = await engine.complete(cache, { ...request, fim, prefix: `${request.prefix}    ` });
      assert.deepEqual(
        next.nodes.map((n) => n.id),
        first.nodes.map((n) => n.id),
      );
      assert.ok(next.reused >= first.pseudoTokens, `fim ${fim}: pseudo-tokens reused`);
      const suffixTokens = fim ? 64 : 0;
      assert.ok(next.decoded <= 8 + suffixTokens, `fim ${fim}: decoded ${next.decoded}, reused ${next.reused}`);
    }
  });

  describe("keystrokes (issue 16): typing in a line keeps the retrieved set, and with suffix-prefix-middle the suffix's KV", () => {
    // The user writes line 39 of cart.py at its end: nothing after the cursor on the line, the lines below as the suffix.
    const lineEnd = (text: string) => text.indexOf("\n", text.indexOf("            net = line.unit_price"));
    const at = (text: string) => ({
      path: "shop/cart.py",
      prefix: text.slice(0, lineEnd(text)),
      suffix: text.slice(lineEnd(text)),
      mode: "hef" as const,
      maxTokens: 8,
      fixedLength: true,
    });
    const site = () => at(readFileSync(join(root, "shop/cart.py"), "utf8"));
    const TYPED = [" *", " * l", " * li"] as const; // three keystrokes, one request each
    const ENTER = " * line.quantity\n            ";

    test("3 characters typed at the end of a line: the same nodes without a query or a search, the pseudo-tokens and the prefix kept; Enter retrieves again", async () => {
      const here = site();
      const prefixTokens = (await engine.complete(cache, { ...here, fim: false })).promptTokens;
      await engine.resetCaches();
      const first = await engine.complete(cache, here);
      assert.equal(first.retrievalReused, false);
      assert.ok(first.timings.queryEmbed > 0);
      for (const typed of TYPED) {
        const next = await engine.complete(cache, { ...here, prefix: here.prefix + typed });
        assert.equal(next.retrievalReused, true, `"${typed}": the nodes of the line's first request`);
        assert.equal(next.timings.queryEmbed, 0);
        assert.equal(next.timings.search, 0);
        assert.deepEqual(
          next.nodes.map((n) => n.id),
          first.nodes.map((n) => n.id),
        );
        // prefix-suffix-middle (the default): the pseudo-tokens, <fim_prefix> and the prefix up to the typed text stay.
        assert.ok(
          next.reused >= next.pseudoTokens + 1 + prefixTokens - 1,
          `"${typed}": reused ${next.reused}, ${next.pseudoTokens} pseudo-tokens, prefix ${prefixTokens}`,
        );
      }
      const enter = await engine.complete(cache, { ...here, prefix: here.prefix + ENTER });
      assert.equal(enter.retrievalReused, false, "a new line retrieves again");
      assert.ok(enter.timings.queryEmbed > 0 && enter.timings.search > 0);
      const onNewLine = await engine.complete(cache, { ...here, prefix: `${here.prefix}${ENTER}ne` });
      assert.equal(onNewLine.retrievalReused, true, "and keeps what it retrieved while the new line is typed");
    });

    test("Enter where the top K barely moved: the line's nodes are kept, so the pseudo-tokens and the prefix before the new line are reused; another file's text retrieves anew", async () => {
      // k 6 of the sample's 36 nodes: any two top 32 would share most of them, and here Enter's own
      // top 6 swaps one of the line's nodes (5 of 6 stay), which the line keeps.
      const here = { ...site(), k: 6 };
      await engine.resetCaches();
      const prefixTokens = (await engine.complete(cache, { ...here, fim: false })).promptTokens;
      const first = await engine.complete(cache, here);
      const enter = await engine.complete(cache, { ...here, prefix: here.prefix + ENTER });
      assert.ok(
        enter.timings.queryEmbed > 0 && enter.timings.search > 0,
        "the new line's query was embedded and searched",
      );
      assert.equal(enter.retrievalReused, false);
      assert.deepEqual(
        enter.nodes.map((n) => n.id),
        first.nodes.map((n) => n.id),
        "the same nodes, best first as retrieved for the line above",
      );
      assert.equal(enter.pseudoTokens, first.pseudoTokens);
      assert.ok(
        enter.reused >= first.pseudoTokens + 1 + prefixTokens - 2,
        `reused ${enter.reused}: ${first.pseudoTokens} pseudo-tokens and a prefix of ${prefixTokens}`,
      );
      assert.ok(
        enter.decoded < enter.promptTokens - prefixTokens + 8,
        `decoded ${enter.decoded} of ${enter.pseudoTokens} + ${enter.promptTokens}`,
      );

      // The same document, its text replaced by another file's (a paste): the query really moved.
      const other = readFileSync(join(root, "shop/pricing/tax.py"), "utf8");
      const moved = await engine.complete(cache, { ...here, prefix: other, suffix: "" });
      const overlap = moved.nodes.filter((n) => first.nodes.some((f) => f.id === n.id)).length;
      assert.ok(overlap < first.nodes.length / 2, `${overlap} of ${first.nodes.length} nodes stay`);
      assert.equal(moved.reused, 0, "other pseudo-tokens: nothing of the KV state is reused");
    });

    test("retrievalMemory false (hef eval's independent tasks): the request's own top K, not the line's kept nodes, and the memory left as it was", async () => {
      // The Enter of the test above, k 6: the memory keeps the line's nodes where Enter's own top 6 swaps one.
      const here = { ...site(), k: 6 };
      await engine.resetCaches();
      const first = await engine.complete(cache, here);
      const own = await engine.complete(cache, { ...here, prefix: here.prefix + ENTER, retrievalMemory: false });
      assert.equal(own.retrievalReused, false);
      const typed = await engine.complete(cache, { ...here, prefix: here.prefix + TYPED[0] });
      assert.equal(typed.retrievalReused, true, "the line's memory is the first request's still");
      assert.deepEqual(
        typed.nodes.map((n) => n.id),
        first.nodes.map((n) => n.id),
      );
      await engine.resetCaches();
      const cold = await engine.complete(cache, { ...here, prefix: here.prefix + ENTER });
      assert.deepEqual(
        own.nodes.map((n) => n.id),
        cold.nodes.map((n) => n.id),
        "the nodes a cold engine retrieves there",
      );
      assert.notDeepEqual(
        own.nodes.map((n) => n.id),
        first.nodes.map((n) => n.id),
        "which the memory would have replaced by the line's",
      );
    });

    test("suffix-prefix-middle (the generator declares hef.fim.spm, fimLayout auto): typing 3 characters decodes only the typed tokens", async () => {
      const spm = await loadEngine({ backend: "cpu", log: () => undefined, fimLayout: "auto" });
      try {
        const here = site();
        const first = await spm.complete(cache, here);
        assert.equal(first.pseudoTokens, 32);
        assert.ok(here.suffix.startsWith("\n") && here.suffix.length > 100, "lines below the cursor");
        let previous = first;
        for (const typed of TYPED) {
          const next = await spm.complete(cache, { ...here, prefix: here.prefix + typed });
          const grown = next.promptTokens - previous.promptTokens;
          assert.equal(next.retrievalReused, true);
          // The typed character's token, and the one before it when the two are tokenized together, are new; nothing else.
          assert.ok(
            grown >= 0 && next.decoded <= grown + 2,
            `"${typed}": decoded ${next.decoded}, the prompt grew by ${grown}`,
          );
          assert.ok(
            next.reused >= next.pseudoTokens + previous.promptTokens - 2,
            `"${typed}": reused ${next.reused} of ${next.pseudoTokens} + ${previous.promptTokens}`,
          );
          previous = next;
        }
        assert.ok(previous.decoded <= 3 + 8 + 2, "at most the typed tokens and as many as were generated");
        const enter = await spm.complete(cache, { ...here, prefix: here.prefix + ENTER });
        assert.equal(enter.retrievalReused, false, "Enter retrieves again");
        assert.ok(enter.timings.queryEmbed > 0);
      } finally {
        await spm.dispose();
      }
    });

    test("as before issue 16 (prefix-suffix-middle, retrieval on every request): each keystroke embeds a query and decodes the suffix again", async () => {
      const old = await loadEngine({
        backend: "cpu",
        log: () => undefined,
        fimLayout: "psm",
        retrievalMemory: false,
        cacheReuse: 0,
      });
      try {
        const here = site();
        await old.complete(cache, here);
        const next = await old.complete(cache, { ...here, prefix: here.prefix + TYPED[0] });
        assert.equal(next.retrievalReused, false);
        assert.ok(next.timings.queryEmbed > 0);
        assert.ok(next.decoded > 20, `the suffix after the typed text is decoded again: ${next.decoded} positions`);
      } finally {
        await old.dispose();
      }
    });

    test("a refresh that removes a remembered node retrieves again", async () => {
      const path = join(root, "shop/cart.py");
      const original = readFileSync(path, "utf8");
      const here = at(original);
      const first = await engine.complete(cache, here);
      assert.ok(
        first.nodes.some((node) => node.path === "shop/cart.py"),
        "cart.py's own nodes are among those retrieved",
      );
      try {
        writeFileSync(path, `${original}\n# changed\n`);
        await cache.refresh(["shop/cart.py"]);
        const next = await engine.complete(cache, { ...here, prefix: here.prefix + TYPED[0] });
        assert.equal(next.retrievalReused, false);
        assert.ok(next.nodes.every((node) => cache.node(node.id) !== undefined));
      } finally {
        writeFileSync(path, original);
        await cache.refresh(["shop/cart.py"]);
      }
    });

    test("ablations never use the memory: another cursor's retrieval is made for each request", async () => {
      const here = site();
      await engine.complete(cache, here);
      const elsewhere = { retrieval: { prefix: "from decimal import Decimal\n" } };
      const a = await engine.complete(cache, { ...here, ...elsewhere });
      const b = await engine.complete(cache, { ...here, prefix: here.prefix + TYPED[0], ...elsewhere });
      assert.equal(a.retrievalReused, false);
      assert.equal(b.retrievalReused, false);
      const own = await engine.complete(cache, { ...here, prefix: here.prefix + TYPED[1] });
      assert.equal(own.retrievalReused, true, "the request's own retrieval is still remembered");
    });
  });

  test("each file's query window is its own: coming back to a file after another embeds only what changed", async () => {
    // White-box: the retriever's encoder, to see which window each request embeds in.
    const encoder = (engine as unknown as { retriever: Retriever }).retriever.embedder.encoder;
    const embedded: { slot: string | undefined; reused: number; decoded: number }[] = [];
    const embedTokens = encoder.embedTokens.bind(encoder);
    encoder.embedTokens = async (tokens, slot) => {
      const result = await embedTokens(tokens, slot);
      embedded.push({ slot, reused: result.reused, decoded: result.decoded });
      return result;
    };
    try {
      const tax = readFileSync(join(root, "shop/pricing/tax.py"), "utf8");
      // Each request on a new line, so that the retrieval memory asks for a query every time.
      await engine.complete(cache, { ...request, prefix: request.prefix + "\n" });
      await engine.complete(cache, { ...request, path: "shop/pricing/tax.py", prefix: tax, suffix: "" });
      await engine.complete(cache, { ...request, prefix: request.prefix + "\n\n" });
      assert.deepEqual(
        embedded.map((e) => e.slot),
        ["shop/cart.py", "shop/pricing/tax.py", "shop/cart.py"],
      );
      assert.ok(embedded[2]!.reused > 0 && embedded[2]!.decoded < 8, `back in cart.py: ${JSON.stringify(embedded[2])}`);
    } finally {
      encoder.embedTokens = embedTokens;
    }
  });

  test("indentation the editor typed is not in the prompt, and the completion goes after it", async () => {
    const atLineStart = await engine.complete(cache, { ...request, fixedLength: false, maxTokens: 16 });
    const indented = await engine.complete(cache, {
      ...request,
      fixedLength: false,
      maxTokens: 16,
      prefix: `${request.prefix}    `,
    });
    // The generator never saw a middle begin after indentation: it indented again (twice the indentation in the editor).
    assert.equal(indented.promptTokens, atLineStart.promptTokens);
    assert.equal(`    ${indented.text}`, atLineStart.text, "the same line, wherever the editor put the cursor");
  });

  test("on an empty line a line is shown where the generator's first choice is to end", async () => {
    // The shipped generator ends at once here (test/native/generator.test.ts shows that choice on the addon).
    const lines = readFileSync(join(root, "shop/pricing/tax.py"), "utf8").split("\n");
    const prefix = `${lines.slice(0, 16).join("\n")}\n`;
    for (const typed of ["", "        "]) {
      const result = await engine.complete(cache, {
        path: "shop/pricing/tax.py",
        prefix: prefix + typed,
        suffix: "",
        mode: "none",
        singleLine: true,
      });
      assert.notEqual(result.text.trim(), "", `typed ${JSON.stringify(typed)}: ${result.stopReason}`);
      assert.notEqual(result.stopReason, "eog");
    }
  });

  test("a reused KV cache completes exactly as a cold one", async () => {
    await engine.complete(cache, request);
    const warm = await engine.complete(cache, request);
    assert.ok(warm.reused > 0, "the second request reuses the first one's KV cache");
    const fresh = await loadEngine({ backend: "cpu", log: () => undefined });
    try {
      const cold = await fresh.complete(cache, request);
      assert.equal(warm.text, cold.text);
      assert.equal(cold.reused, 0);
      await engine.resetCaches();
      const reset = await engine.complete(cache, request);
      assert.equal(reset.reused, 0, "resetCaches makes the next request cold");
      assert.equal(reset.text, cold.text);
    } finally {
      await fresh.dispose();
    }
  });

  test("ablations: nodes from another repository's cache, another cursor's query, zero pseudo-tokens", async () => {
    const other = await engine.openRepository(otherRoot, { cacheDir: otherCacheDir });
    await other.sync();
    const own = await engine.complete(cache, { ...request, k: 4 });
    const foreign = await engine.complete(cache, { ...request, k: 4, retrieval: { cache: other } });
    assert.ok(
      foreign.nodes.every((node) => other.node(node.id) !== undefined && cache.node(node.id) === undefined),
      "the other repository's nodes",
    );
    const elsewhere = await engine.complete(cache, {
      ...request,
      k: 4,
      retrieval: { prefix: "from decimal import Decimal\n" },
    });
    assert.notDeepEqual(
      elsewhere.nodes.map((n) => n.id),
      own.nodes.map((n) => n.id),
    );
    const zeroed = await engine.complete(cache, { ...request, k: 4, zeroPseudoTokens: true });
    assert.deepEqual(
      zeroed.nodes.map((n) => n.id),
      own.nodes.map((n) => n.id),
    );
    assert.equal(zeroed.pseudoTokens, 4);
    assert.notEqual(zeroed.decoded, 0, "zero vectors are not the cached projections: the prompt is decoded again");
  });

  test("rag injects chunk text up to its budget; none retrieves nothing", async () => {
    const rag = await engine.complete(cache, { ...request, mode: "rag", ragBudget: 1000 });
    assert.ok(rag.nodes.every((n) => n.level === "chunk"));
    assert.ok(rag.contextTokens > 0 && rag.contextTokens <= 1000, `context ${rag.contextTokens}`);
    assert.equal(rag.pseudoTokens, 0);
    const none = await engine.complete(cache, { ...request, mode: "none" });
    assert.equal(none.nodes.length, 0);
    assert.equal(none.timings.queryEmbed, 0);
    assert.ok(
      rag.promptTokens - none.promptTokens >= rag.contextTokens,
      `${rag.promptTokens} - ${none.promptTokens} vs ${rag.contextTokens}`,
    );
  });

  test("entity names add at most 64 tokens", async () => {
    const result = await engine.complete(cache, { ...request, prefix: "import shop\n\n", suffix: "", entities: true });
    assert.ok(
      result.entityTokens > 0 && result.entityTokens <= 64,
      `entity tokens ${result.entityTokens}, prompt ${result.promptTokens}, nodes ${result.nodes.length}`,
    );
    // What the panel and the error analysis are told is what the line lists: names the shop defines.
    assert.ok(result.entityNames.length > 0);
    for (const name of result.entityNames) assert.match(name, /^[A-Za-z_][\w.]*$/);
  });

  test("cancellation ends a request with what it had; concurrent requests each get their own answer", async () => {
    const controller = new AbortController();
    const long = engine.complete(cache, { ...request, maxTokens: 400, signal: controller.signal });
    const other = engine.complete(cache, { ...request, mode: "none" });
    setTimeout(() => controller.abort(), 50);
    const [cancelled, done] = await Promise.all([long, other]);
    assert.equal(cancelled.stopReason, "cancelled");
    assert.ok(cancelled.generatedTokens < 400);
    assert.equal(done.stopReason, "maxTokens");
    assert.equal(done.generatedTokens, 8);
  });
});
