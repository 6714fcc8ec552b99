import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type WorkspaceFolder,
} from "vscode-languageserver";
import { defaultCacheDir } from "../cache/cacheLocation";
import type { CompletionEngine } from "../completion/types";
import type { EngineOptions } from "../completion/engine";
import {
  HefNotifications,
  HefRequests,
  type CompleteParams,
  type CompleteResult,
  type SidecarOptions,
  type SidecarStatus,
} from "../../common/protocol";
import { DEFAULT_BACKEND } from "../../common/settings";
import { oneLine } from "../util/errorText";
import { folderExcludes } from "../../common/excludes";
import { isInside } from "../../common/paths";
import { OpenDocuments } from "./documents";
import { FolderIndex } from "./folderIndex";
import { throttle } from "./throttle";
import { BACKGROUND_REST_MS, Generations } from "./generations";
import { UnsavedEdits } from "./unsavedEdits";
import {
  completeParamsProblem,
  filesChangedParamsProblem,
  focusParamsProblem,
  rebuildParamsProblem,
} from "./validateParams";

/** engine.ts's loadEngine, or a stand-in in tests. */
export type LoadEngine = (options: EngineOptions) => Promise<CompletionEngine>;

/** Progress notifications at most this often; state changes go out at once. */
const STATUS_INTERVAL_MS = 250;

function signalOf(token: CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

function invalidParams(method: string, problem: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, `${method}: ${problem}`);
}

function cancelled(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestCancelled, "cancelled");
}

function rootOf(folder: WorkspaceFolder): string {
  return resolve(fileURLToPath(folder.uri));
}

/** What the process around the server can ask of it. */
export interface RunningServer {
  /** Writes every folder's chunk vectors embedded so far (SIGTERM without a shutdown); `failed` hears of each folder that could not. */
  checkpoint(failed: (root: string, error: unknown) => void): Promise<void>;
}

/**
 * HEF's language server: loads the models once, keeps one cache per workspace folder, indexes
 * them one after another in the background, and answers the requests of common/protocol.ts.
 * A folder that fails is reported in its status; the others go on.
 */
export function startServer(connection: Connection, loadEngine: LoadEngine): RunningServer {
  const folders = new Map<string, FolderIndex>();
  const log = (line: string) => connection.console.info(line);
  let options: SidecarOptions = { backend: DEFAULT_BACKEND, exclude: [] };
  let engine: CompletionEngine | undefined;
  let engineError: string | undefined;
  /** Why the chosen models were replaced by the embedded defaults (they failed to load). */
  let fallback: string | undefined;
  /**
   * The workspace folders as the client last described them. Folder events can arrive while the
   * models load, before any folder can be opened; the folders opened once the engine is ready are
   * these, not the ones the client started with.
   */
  const wanted = new Set<string>();
  let folderEvents = false;
  /** The files in view per folder, as last sent: a folder opened later starts with them. */
  const focus = new Map<string, string[]>();
  /** First indexes run one folder at a time: they share the embedder. */
  let indexing: Promise<void> = Promise.resolve();
  /** The editor's open documents (LSP incremental sync): completions are cut from them. */
  const documents = new OpenDocuments();
  documents.listen(connection);
  /** The folder whose cache holds a file (absolute path), if any. */
  const folderOf = (path: string) => [...folders.values()].find((folder) => isInside(folder.root, path));
  /** Completions, speculations and pre-warms: indexing waits for them (generations.ts). */
  const generations = new Generations();
  /** Shutting down: the last index work (the disk's text back for unsaved files, saving) waits for nothing. */
  let closing = false;
  /** An open document's unsaved text is indexed once the user rests; closing it brings the disk's back. */
  const unsaved = new UnsavedEdits(async (uri, signal) => {
    const text = documents.text(uri);
    const path = uri.startsWith("file:") ? fileURLToPath(uri) : undefined;
    if (text !== undefined && path !== undefined) await folderOf(path)?.refreshText(path, text, signal);
  }, generations);
  documents.watch(
    (uri) => unsaved.edited(uri),
    (uri) => {
      unsaved.closed(uri);
      if (!uri.startsWith("file:")) return;
      const path = fileURLToPath(uri);
      folderOf(path)?.documentClosed(path);
    },
  );

  const snapshot = (): SidecarStatus => ({
    backend: engine?.backend ?? (engineError ? "none" : "loading"),
    models: engine?.models ?? { embedder: "", generator: "", adapter: "" },
    folders: [...folders.values()].map((folder) => folder.status()),
    ...(engineError ? { error: engineError } : {}),
    ...(fallback ? { fallback } : {}),
  });
  const publish = throttle(
    () => void connection.sendNotification(HefNotifications.status, snapshot()),
    STATUS_INTERVAL_MS,
  );
  const changed = (urgent: boolean) => (urgent ? publish.flush() : publish());

  /** Opens the wanted folders not open yet; until the engine is ready there is nothing to open them with. */
  const openWanted = () => {
    if (!engine) return;
    for (const root of wanted) {
      if (folders.has(root)) continue;
      const cacheDir = defaultCacheDir(
        root,
        options.cacheDir ? { ...process.env, HEF_CACHE_HOME: options.cacheDir } : process.env,
      );
      const folder = new FolderIndex(
        root,
        engine,
        {
          cacheDir,
          exclude: folderExcludes(options.exclude),
          log,
          // Closing writes the cache at once: nothing generates any more.
          beforeModelWork: (signal) => (closing ? Promise.resolve() : generations.rest(BACKGROUND_REST_MS, signal)),
        },
        changed,
        log,
        () => indexChanged(root),
      );
      folders.set(root, folder);
      folder.focus(focus.get(root) ?? []);
      indexing = indexing.then(() => folder.index());
    }
  };

  const removeFolder = async (root: string) => {
    const folder = folders.get(root);
    if (!folder) return;
    folders.delete(root);
    publish.flush();
    await folder.close();
  };

  connection.onInitialize((params) => {
    // The pid lets a user (and the real-editor tests) find this process in the log.
    log(`sidecar pid ${process.pid}`);
    options = { ...options, ...(params.initializationOptions as Partial<SidecarOptions> | undefined) };
    for (const folder of params.workspaceFolders ?? []) wanted.add(rootOf(folder));
    folderEvents = params.capabilities.workspace?.workspaceFolders === true;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: "hef-sidecar" },
    };
  });

  connection.onInitialized(async () => {
    if (folderEvents) {
      connection.workspace.onDidChangeWorkspaceFolders(async (event) => {
        const removed = event.removed.map(rootOf);
        // Before the first await, so that the engine becoming ready or a later event meanwhile sees the new set.
        for (const root of removed) wanted.delete(root);
        for (const folder of event.added) wanted.add(rootOf(folder));
        for (const root of removed) await removeFolder(root);
        // The wanted set, not this event's additions: a later event may have re-added a folder closed above.
        openWanted();
        publish.flush();
      });
    }
    publish.flush();
    const { embedderPath, generatorPath, adapterPath, backend } = options;
    try {
      engine = await loadEngine({ embedderPath, generatorPath, adapterPath, backend, log });
    } catch (error) {
      const failure = `loading the models failed: ${oneLine(error)}`;
      connection.console.error(failure);
      // Models the user chose that do not load should not leave the editor with nothing: the
      // embedded defaults serve meanwhile, and the status says why.
      const chosen = embedderPath !== undefined || generatorPath !== undefined || adapterPath !== undefined;
      if (!chosen) engineError = failure;
      else {
        try {
          engine = await loadEngine({ backend, log });
          fallback = `${failure}; completing with the embedded default models meanwhile`;
          connection.console.warn(fallback);
        } catch (defaultsError) {
          engineError = `${failure}; the embedded defaults failed too: ${oneLine(defaultsError)}`;
          connection.console.error(engineError);
        }
      }
    }
    if (engine) {
      log(`sidecar ready: ${engine.backend}, embedder ${engine.models.embedder}, generator ${engine.models.generator}`);
      openWanted();
      engine.warmUp().catch((error: unknown) => log(`warming the query encoder failed: ${oneLine(error)}`));
    }
    publish.flush();
  });

  connection.onRequest(HefRequests.status, snapshot);

  connection.onNotification(HefNotifications.filesChanged, (params) => {
    const problem = filesChangedParamsProblem(params);
    if (problem) return log(`ignored a ${HefNotifications.filesChanged.method} notification: ${problem}`);
    // Before the models are loaded (or when they failed) no folder is open; each one syncs with the disk when it opens.
    if (!engine) return;
    const folder = folders.get(resolve(params.root));
    if (!folder) return log(`files changed in ${params.root}, which is not a workspace folder`);
    folder.filesChanged([...params.changed, ...params.added, ...params.deleted]);
  });

  connection.onNotification(HefNotifications.focus, (params) => {
    const problem = focusParamsProblem(params);
    if (problem) return log(`ignored a ${HefNotifications.focus.method} notification: ${problem}`);
    const root = resolve(params.root);
    focus.set(root, params.paths);
    folders.get(root)?.focus(params.paths);
  });

  /** A completion at the cursor of a document the editor syncs, in the version the request names. */
  const completeAt = async (params: CompleteParams, signal: AbortSignal): Promise<CompleteResult> => {
    if (!engine) return { kind: "notReady", reason: engineError ?? "the models are loading" };
    const folder = folders.get(resolve(params.root));
    if (!folder) return { kind: "notReady", reason: `${params.root} is not a workspace folder` };
    const text = await documents.textAt(params, signal);
    signal.throwIfAborted();
    return text.kind === "text" ? folder.complete(params, text, signal) : text;
  };

  /** The request's answer; a failure is a ResponseError (RequestCancelled once the signal aborted). */
  const answer = async (params: CompleteParams, signal: AbortSignal, what: string): Promise<CompleteResult> => {
    try {
      const result = await completeAt(params, signal);
      signal.throwIfAborted();
      return result;
    } catch (error) {
      if (signal.aborted) throw cancelled();
      throw new ResponseError(LSPErrorCodes.RequestFailed, `${what} failed: ${oneLine(error)}`);
    }
  };

  /**
   * The background work running now (a pre-warm or a speculation), one at a time: any completion
   * request stops it before it starts, so a real request never waits behind one.
   */
  let background: AbortController | undefined;
  const stopBackground = () => {
    background?.abort();
    background = undefined;
  };
  const startBackground = (): AbortController => {
    stopBackground();
    return (background = new AbortController());
  };
  const endBackground = (controller: AbortController) => background === controller && (background = undefined);

  /**
   * The last pre-warm's place while no request has come since (the cursor still rests there): a
   * refresh that changes the index under it (the editor's unsaved text 2 s into a rest, a save)
   * would leave that pre-warm's retrieval stale, and the next request would decode its prompt again
   * behind new pseudo-tokens; so the place is warmed again on the new index.
   */
  let resting: CompleteParams | undefined;
  const prewarm = (params: CompleteParams) => {
    const controller = startBackground();
    const generated = generations.begin();
    // One generated token: the work worth keeping is the query, the retrieval, the projection and the prefill.
    completeAt({ ...params, maxTokens: 1, force: false }, controller.signal)
      // The place is gone (the document edited since, or closed): no refresh warms it again.
      .then((result) => result.kind === "notReady" && resting === params && (resting = undefined))
      .catch((error: unknown) => controller.signal.aborted || log(`pre-warm failed: ${oneLine(error)}`))
      .finally(() => {
        generated();
        endBackground(controller);
      });
  };
  const indexChanged = (root: string) => {
    // After the refresh has fully ended: a generation starting inside it would count it as still
    // running and put it off to run once more (unsavedEdits.ts).
    setImmediate(() => resting && resolve(resting.root) === root && prewarm(resting));
  };

  connection.onNotification(HefNotifications.prewarm, (params) => {
    const problem = completeParamsProblem(params);
    if (problem) return log(`ignored a ${HefNotifications.prewarm.method} notification: ${problem}`);
    resting = params;
    prewarm(params);
  });

  connection.onRequest(HefRequests.speculate, async (params, token) => {
    const problem = completeParamsProblem(params);
    if (problem) throw invalidParams(HefRequests.speculate.method, problem);
    resting = undefined;
    const controller = startBackground();
    const generated = generations.begin();
    try {
      return await answer(params, AbortSignal.any([controller.signal, signalOf(token)]), "speculation");
    } finally {
      generated();
      endBackground(controller);
    }
  });

  connection.onRequest(HefRequests.complete, async (params, token) => {
    stopBackground();
    resting = undefined;
    const problem = completeParamsProblem(params);
    if (problem) throw invalidParams(HefRequests.complete.method, problem);
    const generated = generations.begin();
    try {
      return await answer(params, signalOf(token), "completion");
    } finally {
      generated();
    }
  });

  connection.onRequest(HefRequests.rebuild, async (params, token) => {
    const problem = rebuildParamsProblem(params);
    if (problem) throw invalidParams(HefRequests.rebuild.method, problem);
    if (!engine) throw new ResponseError(LSPErrorCodes.RequestFailed, engineError ?? "the models are still loading");
    const roots = params.roots.length > 0 ? params.roots.map((root) => resolve(root)) : [...folders.keys()];
    const signal = signalOf(token);
    const results = [];
    for (const root of roots) {
      const folder = folders.get(root);
      results.push(
        folder ? await folder.rebuild(signal) : { root, files: 0, nodes: 0, ms: 0, error: "not a workspace folder" },
      );
    }
    if (signal.aborted) throw cancelled();
    return { folders: results };
  });

  connection.onShutdown(async () => {
    closing = true;
    publish.cancel();
    stopBackground();
    unsaved.dispose();
    await Promise.all([...folders.keys()].map(removeFolder));
    await engine?.dispose();
  });

  connection.listen();
  return {
    checkpoint: async (failed) => {
      await Promise.all(
        [...folders].map(([root, folder]) => folder.checkpoint().catch((error: unknown) => failed(root, error))),
      );
    },
  };
}
