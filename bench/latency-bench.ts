// npm run bench:latency — what a user waits for while typing, end to end (issue 16): a recorded
// session (bench/latency-session.json) is replayed through the real sidecar, spawned as the
// extension spawns it (dist/sidecar.mjs --stdio) and driven over its protocol as the extension
// drives it: documents synced with didOpen and incremental didChange, one hef/complete per
// keystroke (each awaited: a user who waits for the suggestion after every key), hef/prewarm once
// the cursor has rested REST_MS (FOCUS_REST_MS after a file gains focus), and after every
// suggestion shown a hef/speculate of what accepting it would give, which an accept then waits for
// instead of asking. One fresh sidecar per mode
// (none, rag, hef) and pre-warm (off, on), so that no run inherits another's KV cache; the index is
// kept between runs (bench/out/caches-latency*). Prints per event the round-trip latency p50/p95 as
// the extension measures it, and the prompt positions decoded and reused. The shipped models
// (models/default) by default; `-- --paper` the paper-shape random models (bench/paperModels.ts),
// with `--generator-shape qwen2.5-coder-0.5b` the generator issue 16's goals are set on;
// `-- --session <file>` another recorded session (bench/latency-session-goals.json: the issue's rows);
// `-- --modes hef,none` fewer modes; `-- --max-tokens 16` a fixed generation budget (random weights
// seldom write a newline, so they decode the whole single-line budget; issue 16's table decodes 16);
// `-- --log` the sidecar's log lines, saves and completions on stderr, timed (what indexing ran beside the requests).
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CancellationTokenSource,
  createMessageConnection,
  type MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  ShutdownRequest,
} from "vscode-languageserver-protocol";
import { TextDocument } from "vscode-languageserver-textdocument";
import {
  type CompleteParams,
  type CompleteResult,
  type Completion,
  COMPLETION_MODES,
  type CompletionMode,
  HefNotifications,
  HefRequests,
  type SidecarOptions,
} from "../common/protocol";
import { DEFAULT_K, DEFAULT_MAX_TOKENS } from "../common/settings";
import { summarize } from "../sidecar/eval/metrics";
import { PAPER_GENERATORS, type PaperGenerator, preparePaperModels } from "./paperModels";

/**
 * A session starts in an editor open for a while: the sidecar's start-up work once the index is
 * ready (the query encoder's warm-up, 4.9 s with the 0.6B-shape embedder) is over.
 */
const SETTLE_MS = 6000;

/**
 * extension/completion/prewarm.ts's REST_MS and FOCUS_REST_MS (that module needs the editor's API):
 * the rest before a pre-warm after a cursor move, and after a file gains focus.
 */
const REST_MS = 1000;
const FOCUS_REST_MS = 250;
/** extension/changeBatch.ts's WATCH_TIMING.quietMs: the watcher reports a saved file this long after the write. */
const WATCH_QUIET_MS = 300;

type Step =
  | { open: string; lineEnd?: number }
  | { rest: number }
  /**
   * Typed character by character; "\n" is Enter, which auto-indents. `first` names the first
   * keystroke's event, `then` the others' (default "keystroke", or "Enter").
   */
  | { type: string; first?: string; then?: string }
  /** Accept the suggestion shown last, this many ms after it showed. */
  | { accept: number }
  /** Save the active document: written to disk, reported as changed by the watcher WATCH_QUIET_MS later. */
  | { save: true };

interface Session {
  repo: string;
  languageId: string;
  steps: Step[];
}

interface Measured {
  event: string;
  ms: number;
  decoded: number;
  reused: number;
  generated: number;
  /** The sidecar's own stage timings; what the round trip adds to them is waiting (queues, background work finishing). */
  embedMs: number;
  prefillMs: number;
  decodeMs: number;
  totalMs: number;
}

/** The sidecar process and a JSON-RPC connection to it over stdio, as vscode-languageclient makes them. */
class Sidecar {
  private constructor(
    readonly connection: MessageConnection,
    private readonly child: ChildProcess,
    private readonly stderr: () => string,
  ) {}

  static async start(root: string, options: SidecarOptions): Promise<Sidecar> {
    const child = spawn(process.execPath, [resolve("dist/sidecar.mjs"), "--stdio"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (data: Buffer) => (stderr = (stderr + data.toString()).slice(-4000)));
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    if (showLog)
      connection.onNotification("window/logMessage", ({ message }: { message: string }) =>
        logLine(`sidecar: ${message}`),
      );
    connection.listen();
    const sidecar = new Sidecar(connection, child, () => stderr);
    const folder = { uri: pathToFileURL(root).href, name: "bench" };
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: folder.uri,
      workspaceFolders: [folder],
      capabilities: { workspace: { workspaceFolders: true } },
      initializationOptions: options,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    await sidecar.ready(root);
    return sidecar;
  }

  /** Waits for the folder's index (a first run indexes the repository; later runs load the cache). */
  private async ready(root: string): Promise<void> {
    for (;;) {
      const status = await this.connection.sendRequest(HefRequests.status, undefined);
      if (status.error) throw new Error(`the sidecar cannot complete: ${status.error}`);
      const folder = status.folders.find((f) => f.root === root);
      if (folder?.state === "failed") throw new Error(`indexing ${root} failed: ${folder.error}`);
      if (folder?.state === "ready") return;
      if (this.child.exitCode !== null) throw new Error(`the sidecar exited:\n${this.stderr()}`);
      await sleep(200);
    }
  }

  async stop(): Promise<void> {
    await this.connection.sendRequest(ShutdownRequest.type);
    await this.connection.sendNotification(ExitNotification.type);
    await new Promise((done) => (this.child.exitCode !== null ? done(undefined) : this.child.on("exit", done)));
    this.connection.dispose();
  }
}

/** What the extension's completion provider and pre-warm would send, replaying one session against one sidecar. */
class Editor {
  private readonly documents = new Map<string, { document: TextDocument; cursor: number }>();
  private active: { document: TextDocument; cursor: number } | undefined;
  /** The suggestion shown last and its speculation (provider.ts: shown). */
  private shown: { text: string; next: Promise<CompleteResult | undefined>; stop: () => void } | undefined;
  /** How long a rest must last before the extension sends a pre-warm: shorter right after a file gains focus. */
  private prewarmAfter = REST_MS;
  /** The watcher's report of the last save, sent WATCH_QUIET_MS after it. */
  private watcher: Promise<void> = Promise.resolve();
  readonly measured: Measured[] = [];

  constructor(
    private readonly sidecar: Sidecar,
    private readonly root: string,
    private readonly languageId: string,
    private readonly mode: CompletionMode,
    private readonly prewarm: boolean,
    private readonly maxTokens: number,
  ) {}

  async run(steps: readonly Step[]): Promise<void> {
    for (const step of steps) {
      if ("open" in step) await this.open(step.open, step.lineEnd);
      else if ("rest" in step) await this.rest(step.rest);
      else if ("type" in step) {
        let event = step.first;
        for (const key of step.type) {
          await this.keystroke(key, event ?? step.then ?? (key === "\n" ? "Enter" : "keystroke"));
          event = undefined;
        }
      } else if ("save" in step) this.save();
      else await this.accept(step.accept);
    }
    this.shown?.stop();
    // A session that ends with a save: the report goes out before the sidecar stops.
    await this.watcher;
  }

  private params(insert?: string): CompleteParams {
    const { document, cursor } = this.active!;
    return {
      root: this.root,
      textDocument: { uri: document.uri, version: document.version },
      position: document.positionAt(cursor),
      ...(insert !== undefined ? { insert } : {}),
      mode: this.mode,
      k: DEFAULT_K,
      maxTokens: this.maxTokens,
      singleLine: true,
      entities: false,
      force: false,
    };
  }

  /** Opens the file (didOpen the first time) or brings it back with its cursor; lineEnd puts the cursor at that line's end. */
  private async open(path: string, lineEnd?: number): Promise<void> {
    this.shown?.stop();
    this.shown = undefined;
    const file = join(this.root, path);
    let open = this.documents.get(file);
    if (!open) {
      const document = TextDocument.create(pathToFileURL(file).href, this.languageId, 1, readFileSync(file, "utf8"));
      open = { document, cursor: 0 };
      this.documents.set(file, open);
      await this.sidecar.connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri: document.uri, languageId: this.languageId, version: 1, text: document.getText() },
      });
    }
    if (lineEnd !== undefined) open.cursor = open.document.offsetAt({ line: lineEnd + 1, character: 0 }) - 1;
    this.active = open;
    this.prewarmAfter = FOCUS_REST_MS;
    await this.sidecar.connection.sendNotification(HefNotifications.focus, { root: this.root, paths: [file] });
  }

  /** The cursor rests: once it has rested long enough the extension sends a pre-warm, which runs while the user still rests. */
  private async rest(ms: number): Promise<void> {
    const after = this.prewarmAfter;
    if (!this.prewarm || ms < after) return void (await sleep(ms));
    await sleep(after);
    await this.sidecar.connection.sendNotification(HefNotifications.prewarm, this.params());
    await sleep(ms - after);
  }

  /** The user saves and goes on at once; the watcher's report reaches the sidecar in the background. */
  private save(): void {
    if (showLog) logLine("save");
    const { document } = this.active!;
    const path = fileURLToPath(document.uri);
    writeFileSync(path, document.getText());
    this.watcher = sleep(WATCH_QUIET_MS).then(() =>
      this.sidecar.connection.sendNotification(HefNotifications.filesChanged, {
        root: this.root,
        changed: [path],
        added: [],
        deleted: [],
      }),
    );
  }

  /** One key: a didChange, then the completion request the provider makes for it. */
  private async keystroke(key: string, event: string): Promise<void> {
    this.shown?.stop();
    this.shown = undefined;
    const open = this.active!;
    const before = open.document.getText().slice(0, open.cursor);
    const line = before.slice(before.lastIndexOf("\n") + 1);
    // Enter auto-indents as the editor does for Python: the line's indentation, one level more after a colon.
    const text = key === "\n" ? `\n${/^\s*/.exec(line)![0]}${line.trimEnd().endsWith(":") ? "    " : ""}` : key;
    await this.edit(text);
    const started = performance.now();
    const result = await this.sidecar.connection.sendRequest(HefRequests.complete, this.params());
    this.record(event, performance.now() - started, result);
    if (result.kind === "completion" && result.stopReason !== "cancelled" && result.text.trim() !== "")
      this.speculate(result.text);
  }

  private async edit(text: string): Promise<void> {
    this.prewarmAfter = REST_MS;
    const open = this.active!;
    const at = open.document.positionAt(open.cursor);
    const change = { range: { start: at, end: at }, text };
    open.document = TextDocument.update(open.document, [change], open.document.version + 1);
    open.cursor += text.length;
    await this.sidecar.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri: open.document.uri, version: open.document.version },
      contentChanges: [change],
    });
  }

  /** provider.ts: once a suggestion shows, the completion after accepting it is asked in the background. */
  private speculate(text: string): void {
    const cancel = new CancellationTokenSource();
    const next = this.sidecar.connection.sendRequest(HefRequests.speculate, this.params(text), cancel.token).then(
      (result) => result,
      () => undefined,
    );
    this.shown = { text, next, stop: () => cancel.cancel() };
  }

  /** Accepting waits for the speculation; when it gave nothing (blank, stopped, failed), the provider asks. */
  private async accept(afterMs: number): Promise<void> {
    const shown = this.shown;
    if (!shown) return void process.stderr.write(`accept: no suggestion was shown (${this.mode})\n`);
    await sleep(afterMs);
    await this.edit(shown.text);
    const started = performance.now();
    const speculated = await shown.next;
    this.shown = undefined;
    if (speculated?.kind === "completion" && speculated.stopReason !== "cancelled" && speculated.text.trim() !== "") {
      this.record("accept (speculated)", performance.now() - started, speculated);
      return;
    }
    const result = await this.sidecar.connection.sendRequest(HefRequests.complete, this.params());
    this.record("accept (asked: the speculation gave nothing)", performance.now() - started, result);
  }

  private record(event: string, ms: number, result: CompleteResult): void {
    if (result.kind !== "completion") throw new Error(`${event}: no completion: ${result.reason}`);
    if (showLog) logLine(`${event}: ${ms.toFixed(0)} ms`);
    const { decoded, reused, generatedTokens, timings } = result as Completion;
    this.measured.push({
      event,
      ms,
      decoded,
      reused,
      generated: generatedTokens,
      embedMs: timings.queryEmbed,
      prefillMs: timings.prefill,
      decodeMs: timings.decode,
      totalMs: timings.total,
    });
  }
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

const paper = process.argv.includes("--paper");
/** The sidecar's log lines, each save and each completion shown on stderr, timed: what ran in the background, and when. */
const showLog = process.argv.includes("--log");
function logLine(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}
const generatorShape = (option("--generator-shape") ?? "qwen2.5-coder-1.5b") as PaperGenerator;
if (!PAPER_GENERATORS.includes(generatorShape))
  throw new Error(`--generator-shape: one of ${PAPER_GENERATORS.join(", ")}, not "${generatorShape}"`);
const session = JSON.parse(readFileSync(option("--session") ?? "bench/latency-session.json", "utf8")) as Session;
/**
 * A session that saves writes its files: it runs on a copy (bench/out/session-repos), restored before
 * every sidecar, at a fixed place so that the index kept between runs only refreshes the saved files.
 */
const saves = session.steps.some((step) => "save" in step);
const root = saves ? resolve("bench/out/session-repos", basename(session.repo)) : resolve(session.repo);
const restore = () => {
  if (!saves) return;
  rmSync(root, { recursive: true, force: true });
  cpSync(resolve(session.repo), root, { recursive: true, preserveTimestamps: true });
};
const models = paper ? await preparePaperModels(generatorShape) : {};
const options: SidecarOptions = {
  ...models,
  backend: "cpu",
  exclude: [],
  // The index holds the fuser's vectors, which depend on the adapter, one per generator shape.
  cacheDir: resolve("bench/out", paper ? `caches-latency-paper-${generatorShape}` : "caches-latency"),
};
const maxTokens = Number(option("--max-tokens") ?? DEFAULT_MAX_TOKENS.singleLine);
if (!Number.isInteger(maxTokens) || maxTokens < 1)
  throw new Error(`--max-tokens: a positive integer, not "${option("--max-tokens")}"`);
const rows: string[][] = [];
const modes = (option("--modes")?.split(",") ?? [...COMPLETION_MODES].reverse()) as CompletionMode[];
for (const mode of modes) {
  for (const prewarm of [false, true]) {
    restore();
    const sidecar = await Sidecar.start(root, options);
    await sleep(SETTLE_MS);
    const editor = new Editor(sidecar, root, session.languageId, mode, prewarm, maxTokens);
    try {
      await editor.run(session.steps);
    } finally {
      await sidecar.stop();
    }
    const events = [...new Set(editor.measured.map((m) => m.event))];
    for (const event of events) {
      const of = editor.measured.filter((m) => m.event === event);
      const latency = summarize(of.map((m) => m.ms));
      const median = (values: number[]) => summarize(values).p50.toFixed(0);
      rows.push([
        mode,
        prewarm ? "on" : "off",
        event,
        String(of.length),
        latency.p50.toFixed(0),
        latency.p95.toFixed(0),
        median(of.map((m) => m.decoded)),
        median(of.map((m) => m.reused)),
        median(of.map((m) => m.generated)),
        median(of.map((m) => m.embedMs)),
        median(of.map((m) => m.prefillMs)),
        median(of.map((m) => m.decodeMs)),
        median(of.map((m) => m.ms - m.totalMs)),
      ]);
    }
    process.stderr.write(`${mode}, pre-warm ${prewarm ? "on" : "off"}: ${editor.measured.length} requests\n`);
  }
}
const header = [
  "mode",
  "pre-warm",
  "event",
  "n",
  "p50 ms",
  "p95 ms",
  "decoded p50",
  "reused p50",
  "generated p50",
  "embed ms p50",
  "prefill ms p50",
  "decode ms p50",
  "waited ms p50",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(
  [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"),
  `\n\nmodels: ${paper ? `paper-shape random (bench/out/models), generator ${generatorShape}` : "shipped (models/default)"}; ${session.repo}; at most ${maxTokens} generated tokens` +
    "; waited: the round trip less the sidecar's own total (queues, background work finishing)",
);
