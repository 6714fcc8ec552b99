// One benchmark scenario in its own process, so that peak RSS is this scenario's alone:
// index a repository from scratch, time single-file refreshes, and (optionally) measure the
// embedder's raw prefill throughput on one long input. Prints one JSON object.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HefCache } from "../sidecar/cache/hefCache";
import { NativeEmbedder, type Embedder } from "../sidecar/models/embedder";

const [root, modelPath, refreshCount = "40", measurePrefill = "no"] = process.argv.slice(2) as [
  string,
  string,
  string?,
  string?,
];

/** Counts the tokens and time of every embedding call: indexing throughput as the index sees it. */
function metered(embedder: Embedder) {
  const meter = { tokens: 0, ms: 0 };
  const wrapped: Embedder = {
    id: embedder.id,
    name: embedder.name,
    dim: embedder.dim,
    maxTokens: embedder.maxTokens,
    countTokens: (text) => embedder.countTokens(text),
    dispose: () => embedder.dispose(),
    async embed(texts, onEmbedded) {
      const started = performance.now();
      const vectors = await embedder.embed(texts, onEmbedded);
      meter.ms += performance.now() - started;
      for (const text of texts) meter.tokens += embedder.countTokens(text);
      return vectors;
    },
  };
  return { wrapped, meter };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const embedder = await NativeEmbedder.load(modelPath, { backend: "cpu", queries: false });
const { wrapped, meter } = metered(embedder);
const cacheDir = mkdtempSync(join(tmpdir(), "hef-bench-"));
try {
  const cache = await HefCache.open({ root, cacheDir, embedder: wrapped, log: () => undefined });
  const started = performance.now();
  const report = await cache.sync();
  const indexMs = performance.now() - started;
  const saveStarted = performance.now();
  await cache.save();
  const saveMs = performance.now() - saveStarted;

  // Single-file refreshes: files spread over the tree, each edited at its end, as a save does.
  const files = [
    ...new Set(
      cache
        .allNodes()
        .filter((n) => n.level === "file")
        .map((n) => n.path),
    ),
  ].sort();
  const step = Math.max(1, Math.floor(files.length / Number(refreshCount)));
  const refreshMs: number[] = [];
  for (let i = 0; i < files.length && refreshMs.length < Number(refreshCount); i += step) {
    const path = join(root, files[i]!);
    const original = readFileSync(path);
    appendFileSync(path, `\n# benchmark edit ${i}\n`);
    const t = performance.now();
    await cache.refresh([path]);
    refreshMs.push(performance.now() - t);
    writeFileSync(path, original);
    await cache.refresh([path]);
  }

  let prefill: { tokens: number; tokensPerSecond: number } | undefined;
  if (measurePrefill === "prefill") {
    // One input of exactly maxTokens tokens of real code: the largest batch an input can be.
    let text = files
      .map((f) => readFileSync(join(root, f), "utf8"))
      .join("\n")
      .slice(0, embedder.maxTokens * 12);
    while (embedder.countTokens(text) > embedder.maxTokens) text = text.slice(0, Math.floor(text.length * 0.95));
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await embedder.embed([text]);
      runs.push(performance.now() - t);
    }
    const tokens = embedder.countTokens(text);
    prefill = { tokens, tokensPerSecond: tokens / (percentile(runs, 50) / 1000) };
  }

  const result = {
    files: report.files,
    skipped: report.skipped.length,
    chunks: report.chunks,
    nodes: report.nodes,
    embedded: report.embedded,
    embeddedTokens: meter.tokens,
    embedMs: meter.ms,
    indexMs,
    saveMs,
    embedTokensPerSecond: meter.tokens / (meter.ms / 1000),
    refreshP50: percentile(refreshMs, 50),
    refreshP95: percentile(refreshMs, 95),
    refreshes: refreshMs.length,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    modelMiB: statSync(modelPath).size / 2 ** 20,
    prefill,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
  await embedder.dispose();
}
process.exit(0);
