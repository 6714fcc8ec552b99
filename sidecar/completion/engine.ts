// The online half of HEF (paper Algorithm 2) behind one API, with the two baselines it replaces:
// the models are loaded once and serve completions for any number of repository caches.
import { basename } from "node:path";
import type { HefCache } from "../cache/hefCache";
import type { HNode } from "../cache/hierarchy";
import type { RetrievedNode } from "../cache/retrieval";
import type { AdapterInfo } from "../adapter/adapter";
import { shippedModels } from "../models/shippedModels";
import { fingerprintFile } from "../models/embedder";
import { type Backend, DEFAULT_BACKEND, DEFAULT_MAX_TOKENS } from "../../common/settings";
import { backendName, gpuLayersOf, llamaRuntime } from "../models/llamaRuntime";
import type { AdapterOps } from "../native/adapterOps";
import { NativeGenerator } from "../native/generator";
import { onEmptyLine } from "./emptyLine";
import { createLanguageSupport, EntityIndex, type LanguageSupport, rankEntities, selectEntities } from "./entities";
import { postProcess } from "./postprocess";
import { assemblePrompt, type FimLayout, PROMPT_DEFAULTS, type PromptModel, type Tokenize } from "./promptAssembly";
import { PseudoTokenCache, pseudoTokenOrder } from "./pseudoTokens";
import { decideRetrieval, keepRetrieved, type RememberedRetrieval, retrievalKey } from "./retrievalMemory";
import { Retriever } from "./retriever";
import { readSnippets } from "./snippets";
import { afterTypedIndent, typedIndent } from "./postprocess/typedIndent";
import type { CompletionEngine, CompletionRequest, CompletionResult, RepositoryOptions, StageTimings } from "./types";

export interface EngineOptions {
  /** GGUF paths; undefined = the embedded default models (models/default, trained by the project). */
  embedderPath?: string;
  generatorPath?: string;
  adapterPath?: string;
  backend?: Backend;
  /** Generator KV cache in positions: rag's 4,096 context tokens plus prefix, suffix and output fit in the default 8,192. */
  contextSize?: number;
  /**
   * Fill-in-the-middle layout. auto (default): suffix-prefix-middle when the generator GGUF declares
   * hef.fim.spm (the shipped one does), so that typing only appends to the prompt and the suffix's KV
   * stays, and the prefix's last line sits right before the completion (its indentation too: the
   * shipped generator indents top-level lines in psm, exact match 0.0 % against 3.3 % in spm on 120
   * held-out tasks, `npm run bench:quality -- --fim-layouts psm,spm`); prefix-suffix-middle, what
   * every FIM model knows, otherwise. psm or spm forces one (benchmarks, random weights).
   */
  fimLayout?: "auto" | FimLayout;
  /**
   * Keystrokes within one line keep the nodes retrieved for that line, and a new line keeps them
   * unless its top K really moved (retrievalMemory.ts; default true). false retrieves and uses the
   * new top K on every request, as before issue 16 (benchmarks compare the two).
   */
  retrievalMemory?: boolean;
  /**
   * The shortest run of cached tokens the generator moves to its new position instead of decoding
   * it again (generator.ts; default 16). 0 decodes everything after the common prefix, as before issue 16.
   */
  cacheReuse?: number;
  log?: (message: string) => void;
}

/** Entities whose names occur in this much of the prefix's end are already visible to the model. */
const ENTITY_EXCLUDE_CHARS = 4096;

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted ?? false;
}

class HefEngine implements CompletionEngine {
  private readonly pseudo: PseudoTokenCache;
  private readonly entities = new WeakMap<HefCache, EntityIndex>();
  /** Per cache, the last retrieval that used the request's own query (no ablation). */
  private memory = new WeakMap<HefCache, RememberedRetrieval>();
  private readonly tokenize: Tokenize;
  private readonly promptModel: PromptModel;
  private languages: Promise<LanguageSupport> | undefined;

  constructor(
    readonly backend: string,
    readonly models: { embedder: string; generator: string; adapter: string },
    private readonly retriever: Retriever,
    private readonly generator: NativeGenerator,
    private readonly adapter: AdapterInfo,
    ops: AdapterOps,
    fimLayout: FimLayout,
    private readonly rememberRetrieval: boolean,
  ) {
    this.pseudo = new PseudoTokenCache(
      async (input, rows) => ops.project(input, rows),
      adapter.embedder.dim,
      adapter.generator.dim,
    );
    this.tokenize = (text) => generator.tokenize(text);
    this.promptModel = { tokens: generator.info.tokens, addBos: generator.info.addBos, fimLayout };
  }

  openRepository(root: string, options: RepositoryOptions): Promise<HefCache> {
    return this.retriever.openRepository(root, options);
  }

  async complete(cache: HefCache, request: CompletionRequest): Promise<CompletionResult> {
    const started = performance.now();
    const timings: StageTimings = { queryEmbed: 0, search: 0, projection: 0, prefill: 0, decode: 0, total: 0 };
    const singleLine = request.singleLine ?? true;
    const k = request.k ?? this.adapter.k;
    let nodes: RetrievedNode[] = [];
    let pseudo: Float32Array | undefined;
    let retrievalReused = false;

    const source = request.retrieval?.cache ?? cache;
    if (request.mode !== "none" && !aborted(request.signal)) {
      // Ablations retrieve with another cache or query, eval's tasks are independent: never from or into the memory.
      const key =
        this.rememberRetrieval && request.retrievalMemory !== false && !request.retrieval
          ? retrievalKey({ path: request.path, mode: request.mode, k, prefix: request.prefix })
          : undefined;
      const decision = key ? decideRetrieval(this.memory.get(cache), key, (id) => cache.node(id)) : undefined;
      if (decision?.reuse) {
        nodes = decision.nodes;
        retrievalReused = true;
      } else {
        const chunksOnly = request.mode === "rag" ? (node: HNode) => node.level === "chunk" : undefined;
        const retrieval = await this.retriever.query(
          source,
          request.retrieval?.prefix ?? request.prefix,
          k,
          chunksOnly,
          // As the generator's KV states: each file keeps its query window.
          request.path,
        );
        // A new line whose top K barely moved keeps the remembered nodes, so their pseudo-tokens and the KV behind them stay.
        nodes = decision?.kept && keepRetrieved(decision.kept, retrieval.nodes) ? decision.kept : retrieval.nodes;
        timings.queryEmbed = retrieval.queryEmbedMs;
        timings.search = retrieval.searchMs;
        if (key) this.memory.set(cache, { key, nodes: [...nodes] });
      }
    }
    if (request.mode === "hef" && nodes.length > 0 && !aborted(request.signal)) {
      const t = performance.now();
      pseudo = await this.pseudo.pseudoTokens(
        pseudoTokenOrder(nodes).map((node) => node.id),
        (id) => source.nodeVector(id),
      );
      if (request.zeroPseudoTokens) pseudo = new Float32Array(pseudo.length);
      timings.projection = performance.now() - t;
    }

    const indent = typedIndent(request.prefix);
    const prefix = request.prefix.slice(0, request.prefix.length - indent.length);
    const prompt = assemblePrompt(this.tokenize, this.promptModel, {
      path: request.path,
      prefix,
      suffix: request.suffix,
      mode: request.mode,
      fim: request.fim ?? true,
      ...(request.mode === "rag" ? { snippets: await readSnippets((path) => source.readText(path), nodes) } : {}),
      ...(request.ragBudget !== undefined ? { ragBudget: request.ragBudget } : {}),
      ...(request.entities ? { entities: await this.entityNames(source, request, nodes) } : {}),
    });

    const fixed = request.fixedLength ?? false;
    const generated = await this.generator.generate({
      ...(pseudo ? { pseudo } : {}),
      tokens: prompt.tokens,
      // Each file keeps its own KV state: switching files and back stays warm.
      slot: request.path,
      maxTokens: request.maxTokens ?? (singleLine ? DEFAULT_MAX_TOKENS.singleLine : DEFAULT_MAX_TOKENS.multiLine),
      stop: singleLine && !fixed ? ["\n"] : [],
      ignoreEog: fixed,
      // An end before any text (frequent in suffix-prefix-middle, where the start of a middle looks like
      // the end of a file) is no suggestion on an empty line, and the best line instead often is right.
      eogAfterContent: !fixed && onEmptyLine(prefix, request.suffix),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    timings.prefill = generated.timings.prefillMs;
    timings.decode = generated.timings.decodeMs;
    const generatedText = fixed
      ? generated.text
      : postProcess(generated.text, {
          prefix,
          suffix: request.suffix,
          singleLine,
          truncated: generated.stopReason === "maxTokens",
        });
    const text = afterTypedIndent(generatedText, indent);
    timings.total = performance.now() - started;
    return {
      text,
      mode: request.mode,
      stopReason: generated.stopReason,
      promptTokens: prompt.promptTokens,
      pseudoTokens: pseudo ? nodes.length : 0,
      // hef: what snippet injection (rag) of the same nodes would cost instead. Their source counts
      // each chunk once (a file node and its chunks overlap), and no more than rag's budget: rag
      // injects snippets only while they fit it, and a module or the repository node covers far more
      // than any prompt holds (issue 18: 9,791,159 tokens for one repository node). The index's
      // per-chunk counts (the embedder's tokens) keep the completion path from reading files.
      contextTokens:
        request.mode === "hef"
          ? Math.min(source.sourceTokens(nodes.map((node) => node.id)), request.ragBudget ?? PROMPT_DEFAULTS.ragBudget)
          : prompt.contextTokens,
      entityTokens: prompt.entityTokens,
      entityNames: prompt.entityNames,
      prefixChars: prompt.prefixChars,
      reused: generated.reused,
      decoded: generated.decoded,
      generatedTokens: generated.tokenCount,
      nodes,
      retrievalReused,
      timings,
    };
  }

  /**
   * Entity names for the prompt (paper 3.8): those defined inside the retrieved nodes, best node
   * first, then those of the current file; names the prefix already shows are left out.
   */
  private async entityNames(
    cache: HefCache,
    request: CompletionRequest,
    nodes: readonly RetrievedNode[],
  ): Promise<string[]> {
    this.languages ??= createLanguageSupport();
    const support = await this.languages;
    let index = this.entities.get(cache);
    if (!index) {
      index = new EntityIndex(support);
      this.entities.set(cache, index);
    }
    const paths = new Set(
      nodes.flatMap((node) => node.spans.filter((span) => span.startLine !== undefined).map((span) => span.path)),
    );
    paths.delete(request.path);
    for (const path of paths) {
      const text = await cache.readText(path);
      if (text === undefined) index.remove(path);
      else index.refresh(path, text);
    }
    const current = index.refresh(request.path, request.prefix + request.suffix);
    const files = new Map([...index.files].filter(([path]) => paths.has(path)));
    return selectEntities([...rankEntities(files, nodes), ...current], (text) => this.generator.tokenize(text).length, {
      exclude: request.prefix.slice(-ENTITY_EXCLUDE_CHARS),
    });
  }

  warmUp(): Promise<void> {
    return this.retriever.warmUp();
  }

  async resetCaches(): Promise<void> {
    this.memory = new WeakMap();
    this.pseudo.clear();
    await this.generator.resetCache();
    await this.retriever.resetCache();
  }

  async dispose(): Promise<void> {
    await this.generator.dispose();
    (await this.languages)?.dispose();
    await this.retriever.dispose();
  }
}

/**
 * The one way to build the engine (the CLI, the language server, the benchmarks and the tests use it):
 * the retriever (embedder, query encoder, adapter and its learned fuser) and the generator, each loaded
 * once, every dimension checked; what loaded before a failure is freed.
 */
export async function loadEngine(options: EngineOptions = {}): Promise<CompletionEngine> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const backend = options.backend ?? DEFAULT_BACKEND;
  const shipped = shippedModels();
  const generatorPath = options.generatorPath ?? shipped.generatorPath;
  const adapterPath = options.adapterPath ?? shipped.adapterPath;
  const generator = await NativeGenerator.load(generatorPath, {
    gpuLayers: gpuLayersOf(backend),
    contextSize: options.contextSize ?? 8192,
    ...(options.cacheReuse !== undefined ? { cacheReuse: options.cacheReuse } : {}),
  });
  let retriever: Retriever;
  try {
    retriever = await Retriever.load({
      embedderPath: options.embedderPath ?? shipped.embedderPath,
      adapterPath,
      backend,
      generator: { name: basename(generatorPath), id: fingerprintFile(generatorPath), dim: generator.info.nEmbdInp },
      log,
    });
  } catch (error) {
    await generator.dispose().catch(() => undefined);
    throw error;
  }
  const llama = await llamaRuntime(backend);
  const layout = options.fimLayout ?? "auto";
  const fimLayout = layout === "auto" ? (generator.info.fimSpm ? "spm" : "psm") : layout;
  return new HefEngine(
    backendName(llama),
    { embedder: retriever.embedder.name, generator: basename(generatorPath), adapter: basename(adapterPath) },
    retriever,
    generator,
    retriever.adapter!,
    retriever.ops!,
    fimLayout,
    options.retrievalMemory ?? true,
  );
}
