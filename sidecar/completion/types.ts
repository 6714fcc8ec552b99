// What one completion asks for and what it returns: shared by the CLI, the evaluation harness and
// the sidecar's language server (sidecar/server/wire.ts maps a result to the protocol's Completion).
// Modes, stop reasons and stage timings are the protocol's: what the engine reports is what the
// editor shows.
import type { Completion, CompletionMode } from "../../common/protocol";
import type { HefCache } from "../cache/hefCache";
import type { RetrievedNode } from "../cache/retrieval";

export { COMPLETION_MODES, type CompletionMode, type StageTimings, type StopReason } from "../../common/protocol";

export interface CompletionRequest {
  /** File path relative to the repository root, "/"-separated. */
  path: string;
  /** Text before the cursor (the whole file up to the cursor) and after it. */
  prefix: string;
  suffix: string;
  mode: CompletionMode;
  /** Nodes retrieved (default: the adapter's K). */
  k?: number;
  /** Generated tokens at most (default DEFAULT_MAX_TOKENS, common/settings.ts). */
  maxTokens?: number;
  /** Stop at the end of the first line (default true). */
  singleLine?: boolean;
  /** Fill-in-the-middle with the suffix when the generator has FIM tokens (default true). */
  fim?: boolean;
  /** Append names of user-defined entities (paper 3.8), up to 64 tokens (default false). */
  entities?: boolean;
  /** rag: raw-context token budget (default 4096). */
  ragBudget?: number;
  /** Generate exactly maxTokens tokens, ignoring end-of-generation and stops (benchmarks). */
  fixedLength?: boolean;
  /**
   * Ablations (hef eval --ablation): retrieve from another repository's cache and/or with another cursor's
   * prefix instead of this request's own (default: the cache completed in, the request's prefix).
   */
  retrieval?: { cache?: HefCache; prefix?: string };
  /**
   * false: retrieve for this request alone, neither from nor into the engine's retrieval memory
   * (retrievalMemory.ts), as ablations do. hef eval's tasks are independent cursors: the memory would
   * carry one task's nodes into the next task in the same file. The KV cache still serves it.
   */
  retrievalMemory?: boolean;
  /** Ablation: every pseudo-token a zero vector; the generator gets K positions that carry nothing. */
  zeroPseudoTokens?: boolean;
  signal?: AbortSignal;
}

/**
 * What the engine returns: the protocol's Completion, fields and meanings, with the sidecar's own
 * nodes (sidecar/server/wire.ts turns them into the panel's). A field added here stays in the
 * sidecar until wire.ts sends it.
 */
export interface CompletionResult extends Omit<Completion, "kind" | "nodes" | "retrievalReused"> {
  /** The retrieved nodes, best first (none mode: empty). */
  nodes: RetrievedNode[];
  /**
   * The nodes are those the previous request on this line retrieved (keystrokes within a line keep
   * them, so the pseudo-tokens and the KV cache behind them stay): no query was embedded and no
   * search ran (timings.queryEmbed and search are 0). Absent from engines that do not say.
   */
  retrievalReused?: boolean;
  /** Characters at the end of the text before the cursor (typed indentation left out) that the prompt holds. */
  prefixChars: number;
}

/** How one repository's cache is opened by the engine (its models are the engine's). */
export interface RepositoryOptions {
  /** Where the cache lives (outside the repository). */
  cacheDir: string;
  /** gitignore-style globs left out, besides .gitignore. */
  exclude?: readonly string[];
  /** Build the hierarchy and index anew (chunk vectors are reused). */
  rebuild?: boolean;
  log?: (message: string) => void;
  /** Awaited before each model call of an index run (embedding, fusing): the sidecar holds indexing back while it generates. */
  beforeModelWork?: (signal?: AbortSignal) => Promise<void>;
}

/** The models, loaded once, serving completions for any number of repositories (workspace folders). */
export interface CompletionEngine {
  /** "CPU", "CUDA", "Vulkan" or "Metal". */
  readonly backend: string;
  readonly models: { embedder: string; generator: string; adapter: string };
  /** Opens (does not yet sync) the cache of one repository; call cache.sync() to index it. */
  openRepository(root: string, options: RepositoryOptions): Promise<HefCache>;
  /** Completes at the cursor described by the request, in that repository. */
  complete(cache: HefCache, request: CompletionRequest): Promise<CompletionResult>;
  /** Forgets what the next request could reuse (KV caches, projected pseudo-tokens): the next one runs cold. */
  resetCaches(): Promise<void>;
  /**
   * Pays once, ahead of the first request, what the query encoder's first full window costs beyond
   * its compute (a 0.6B-shape embedder: 4.8 s for the first 460-token window, 2.9 s for every later
   * one). For a process that lives on (the sidecar); a one-shot run would only wait for it. Leaves
   * nothing cached.
   */
  warmUp(): Promise<void>;
  dispose(): Promise<void>;
}
