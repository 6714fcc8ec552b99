import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { HefCache } from "../../sidecar/cache/hefCache";
import { DEFAULT_K } from "../../common/settings";
import type {
  CompletionEngine,
  CompletionRequest,
  CompletionResult,
  RepositoryOptions,
} from "../../sidecar/completion/types";
import type { Embedder } from "../../sidecar/models/embedder";

/** A deterministic embedder that needs no model: hashes of the text, optionally slow per input. */
export function hashEmbedder(delay: { ms: number }): Embedder {
  const dim = 16;
  const vector = (text: string) => {
    const bytes = createHash("sha256").update(text).digest();
    return Float32Array.from({ length: dim }, (_, i) => bytes[i]! / 255 - 0.5);
  };
  return {
    id: "hash-16",
    name: "hash embedder",
    dim,
    maxTokens: 256,
    countTokens: (text) => Math.ceil(text.length / 4),
    async embed(texts, onEmbedded) {
      const vectors: Float32Array[] = [];
      for (const text of texts) {
        if (delay.ms > 0) await sleep(delay.ms);
        vectors.push(vector(text));
        onEmbedded?.(vectors.length);
      }
      return vectors;
    },
    dispose: async () => undefined,
  };
}

/**
 * The CompletionEngine the server sees, with the real HefCache on a hash embedder. It records what
 * the server asks of it; `complete` waits until cancelled when `hold` is set.
 */
export class FakeEngine implements CompletionEngine {
  readonly backend = "CPU";
  readonly models = { embedder: "hash", generator: "fake", adapter: "none" };
  readonly delay = { ms: 0 };
  readonly refreshes: string[][] = [];
  readonly opened: { root: string; rebuild: boolean }[] = [];
  readonly completeSignals: AbortSignal[] = [];
  readonly requests: CompletionRequest[] = [];
  hold = false;
  disposed = false;
  private readonly embedder = hashEmbedder(this.delay);

  async openRepository(root: string, options: RepositoryOptions): Promise<HefCache> {
    this.opened.push({ root, rebuild: options.rebuild ?? false });
    const cache = await HefCache.open({
      root,
      cacheDir: options.cacheDir,
      embedder: this.embedder,
      rebuild: options.rebuild,
      discovery: { exclude: [...(options.exclude ?? [])] },
      log: options.log,
      beforeModelWork: options.beforeModelWork,
    });
    const refresh = cache.refresh.bind(cache);
    cache.refresh = (paths, progress, signal) => (this.refreshes.push([...paths]), refresh(paths, progress, signal));
    return cache;
  }

  async complete(cache: HefCache, request: CompletionRequest): Promise<CompletionResult> {
    this.completeSignals.push(request.signal!);
    this.requests.push(request);
    if (this.hold) {
      await new Promise((_, reject) =>
        request.signal!.addEventListener("abort", () => reject(request.signal!.reason), { once: true }),
      );
    }
    const [query] = await this.embedder.embed([request.prefix]);
    const nodes = cache.search(query!, request.k ?? DEFAULT_K);
    const timings = { queryEmbed: 0, search: 0, projection: 0, prefill: 0, decode: 0, total: 0 };
    return {
      text: `completion of ${request.path}`,
      mode: request.mode,
      stopReason: "eog",
      promptTokens: 1,
      pseudoTokens: nodes.length,
      contextTokens: 0,
      entityTokens: 0,
      entityNames: [],
      prefixChars: request.prefix.length,
      reused: 0,
      decoded: 1,
      generatedTokens: 1,
      nodes,
      timings,
    };
  }

  async resetCaches(): Promise<void> {}

  warmUps = 0;
  async warmUp(): Promise<void> {
    this.warmUps++;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
