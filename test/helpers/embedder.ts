import type { HefCache } from "../../sidecar/cache/hefCache";
import type { RetrievedNode } from "../../sidecar/cache/retrieval";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { NativeEmbedder, type Embedder } from "../../sidecar/models/embedder";

let shared: Promise<NativeEmbedder> | undefined;

/**
 * The tiny test embedder (lexical vectors, made on demand) on the product's path (the addon's
 * encoder, as the engine loads it), on the CPU, loaded once per test file.
 */
export function tinyEmbedder(): Promise<NativeEmbedder> {
  shared ??= ensureTinyModel("tiny-embed").then((path) => NativeEmbedder.load(path, { backend: "cpu", threads: 1 }));
  return shared;
}

/** The same model under another identity: what a cache sees when the user switches embedders. */
export function renamedEmbedder(embedder: Embedder, id: string): Embedder {
  return {
    id,
    name: `${embedder.name} (renamed)`,
    dim: embedder.dim,
    maxTokens: embedder.maxTokens,
    countTokens: (text) => embedder.countTokens(text),
    embed: (texts, onEmbedded) => embedder.embed(texts, onEmbedded),
    dispose: async () => undefined,
  };
}

/** The top k nodes for a short text embedded whole (the editor's query window is the retriever's, test/cli/hef.test.ts). */
export async function searchText(
  cache: HefCache,
  embedder: Embedder,
  text: string,
  k: number,
): Promise<RetrievedNode[]> {
  const [vector] = await embedder.embed([text]);
  return cache.search(vector!, k);
}

/** The embedder with some of its methods replaced (to record what it is given, or to fail on a text). */
export function overriding(
  embedder: NativeEmbedder,
  methods: Partial<Pick<Embedder, "embed" | "countTokens">>,
): NativeEmbedder {
  return new Proxy(embedder, {
    get(target, key, receiver) {
      if (key in methods) return methods[key as keyof typeof methods];
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
