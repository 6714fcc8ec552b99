// The retrieval half of HEF behind one object: the embedder that embeds chunks, the adapter's learned
// fuser that builds their parents (paper 3.3), and the one query path (Algorithm 2, lines 1-2) from the
// text before a cursor to the top k nodes. The engine (engine.ts) adds the generator and the projector
// to it; `hef index`, `hef query` and `hef export` use it alone, so that a cache and a query are the same
// whichever of them made it.
import { checkAdapter, type AdapterInfo, type ModelIdentity, readAdapter } from "../adapter/adapter";
import { LearnedFuser } from "../adapter/learnedFuser";
import { HefCache } from "../cache/hefCache";
import { DEFAULT_BRANCHING, type HNode } from "../cache/hierarchy";
import type { RetrievedNode } from "../cache/retrieval";
import { NativeEmbedder } from "../models/embedder";
import { type Backend, DEFAULT_BACKEND } from "../../common/settings";
import { adapterDeviceOf, gpuLayersOf } from "../models/llamaRuntime";
import { AdapterOps } from "../native/adapterOps";
import { asIncrementalEncoder, embedQuery, type IncrementalEncoder } from "./queryEncoder";
import type { RepositoryOptions } from "./types";

export interface RetrieverOptions {
  embedderPath: string;
  /** The adapter whose learned fuser and branching factor the caches use; none: fusion by the mean. */
  adapterPath?: string;
  /** Branching factor (default: the adapter's, else 8); a learned fuser only serves the b it was trained with. */
  b?: number;
  backend?: Backend;
  /** The engine's generator, checked against the adapter with the rest: one error names every mismatch. */
  generator?: ModelIdentity;
  /** Give the embedder its query window (default true); `hef index` builds caches only and needs none. */
  queries?: boolean;
  log?: (message: string) => void;
}

export interface Retrieval {
  nodes: RetrievedNode[];
  /** Milliseconds embedding the query window, and searching the index. */
  queryEmbedMs: number;
  searchMs: number;
}

/** No document's path: the warm-up's window. */
const WARM_UP_SLOT = "\0warm-up";

export class Retriever {
  private disposed = false;

  private constructor(
    /** Embeds chunks, and query windows incrementally (queryEncoder.ts) on its other context. */
    readonly embedder: NativeEmbedder,
    private readonly queries: boolean,
    readonly adapter: AdapterInfo | undefined,
    /** The adapter's maps (the fuser's and the projector's), owned here; the engine projects with them. */
    readonly ops: AdapterOps | undefined,
    private readonly fuser: LearnedFuser | undefined,
    readonly b: number,
    private readonly log: (message: string) => void,
  ) {}

  /** Loads the embedder (once, for chunks and queries) and the adapter's maps and fuser, checking their dimensions. */
  static async load(options: RetrieverOptions): Promise<Retriever> {
    const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
    const backend = options.backend ?? DEFAULT_BACKEND;
    const adapter = options.adapterPath ? await readAdapter(options.adapterPath) : undefined;
    const b = options.b ?? adapter?.b ?? DEFAULT_BRANCHING;
    const loaded: { dispose(): unknown }[] = [];
    try {
      const queries = options.queries ?? true;
      const embedder = await NativeEmbedder.load(options.embedderPath, { backend, queries });
      loaded.push(embedder);
      const ops = adapter ? await AdapterOps.load(adapter.path, { backend: adapterDeviceOf(backend) }) : undefined;
      if (ops) loaded.push(ops);
      const fuser =
        adapter?.fuser && ops ? await LearnedFuser.load(adapter, ops, { gpuLayers: gpuLayersOf(backend) }) : undefined;
      if (fuser) loaded.push(fuser);
      if (adapter) {
        const { warnings } = checkAdapter(adapter, {
          embedder: { name: embedder.name, id: embedder.id, dim: embedder.dim },
          ...(options.generator ? { generator: options.generator } : {}),
          ...(fuser ? { fuserDim: fuser.hiddenDim, b } : {}),
        });
        warnings.forEach(log);
      }
      return new Retriever(embedder, queries, adapter, ops, fuser, b, log);
    } catch (error) {
      for (const model of loaded.reverse()) await Promise.resolve(model.dispose()).catch(() => undefined);
      throw error;
    }
  }

  /** The query encoder as the query window needs it (`hef export` writes each task's query vector with it). */
  get queryWindowEncoder(): IncrementalEncoder {
    if (!this.queries) throw new Error("this retriever was loaded without its query encoder (queries: false)");
    return asIncrementalEncoder(this.embedder.encoder);
  }

  /** Opens (does not yet sync) the cache of one repository, built with these models. */
  openRepository(root: string, options: RepositoryOptions): Promise<HefCache> {
    return HefCache.open({
      root,
      cacheDir: options.cacheDir,
      embedder: this.embedder,
      ...(this.fuser ? { fuser: this.fuser } : {}),
      b: this.b,
      ...(options.exclude ? { discovery: { exclude: [...options.exclude] } } : {}),
      rebuild: options.rebuild ?? false,
      log: options.log ?? this.log,
      ...(options.beforeModelWork ? { beforeModelWork: options.beforeModelWork } : {}),
    });
  }

  /**
   * The top k nodes of any level for the text before a cursor: the last maxTokens tokens of `prefix`
   * (in a window that moves in steps, queryEncoder.ts) embedded, then the index searched. `accept`
   * narrows the levels (rag retrieves chunks only); `slot` names the document, whose query window
   * the encoder keeps apart from other documents'.
   */
  async query(
    cache: HefCache,
    prefix: string,
    k: number,
    accept?: (node: HNode) => boolean,
    slot?: string,
  ): Promise<Retrieval> {
    let t = performance.now();
    const query = await embedQuery(this.queryWindowEncoder, prefix, this.embedder.maxTokens, slot);
    const queryEmbedMs = performance.now() - t;
    t = performance.now();
    const nodes = cache.search(query.vector, k, accept);
    return { nodes, queryEmbedMs, searchMs: performance.now() - t };
  }

  /** A full query window of filler embedded, then forgotten (CompletionEngine.warmUp). */
  async warmUp(): Promise<void> {
    if (!this.queries) return;
    // Two characters a token or less, so that the window's character cut still leaves maxTokens tokens.
    const filler = "x\n".repeat(this.embedder.maxTokens * 2);
    // Its own slot, forgotten alone: a request that came meanwhile keeps its document's window.
    await embedQuery(this.queryWindowEncoder, filler, this.embedder.maxTokens, WARM_UP_SLOT);
    await this.embedder.encoder.resetCache(WARM_UP_SLOT);
  }

  /** Forgets the query window's cached positions: the next query runs cold. */
  async resetCache(): Promise<void> {
    if (this.queries) await this.embedder.encoder.resetCache();
  }

  /** Frees every model and the adapter's maps; a second call does nothing. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.fuser?.dispose();
    this.ops?.dispose();
    await this.embedder.dispose();
  }
}
