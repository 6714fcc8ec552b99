// Unsaved edits reach retrieval: once the user has rested EDIT_IDLE_MS on an open document, its text
// as the editor holds it refreshes that file's chunks and nodes (HefCache.refreshText), so a function
// typed a minute ago is retrievable before it is saved. Generation comes first: while a completion,
// a speculation or a pre-warm runs, no refresh starts, and one that runs stops (it runs again at the
// next rest); the rest is counted from when the last of them ended, not from when it began. On a CPU
// a refresh beside a generation slows both (bench:latency, 0.5B-shape generator and 0.6B-shape
// embedder: 16 tokens decoded in 11.6 s instead of 0.3). Closing a document cancels its refresh; the
// caller brings the disk's version back.

/** How long a document rests unedited, and generation rests, before its text is indexed. */
export const EDIT_IDLE_MS = 2_000;

export class UnsavedEdits {
  private readonly waiting = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, AbortController>();
  /** Documents to refresh once no generation runs. */
  private readonly due = new Set<string>();
  private generations = 0;

  constructor(
    /** Indexes the document's current text; the signal aborts when a completion comes. */
    private readonly refresh: (uri: string, signal: AbortSignal) => Promise<void>,
    private readonly idleMs = EDIT_IDLE_MS,
  ) {}

  /** The document changed: its refresh waits for the next rest. */
  edited(uri: string): void {
    this.running.get(uri)?.abort();
    this.schedule(uri);
  }

  /**
   * Generation starts (a completion, a speculation, a pre-warm): what waits is put off and what runs
   * stops, until every generation has ended; then they wait a whole rest again. Returns its end.
   */
  generating(): () => void {
    this.generations++;
    for (const [uri, controller] of this.running) {
      controller.abort();
      this.due.add(uri);
    }
    for (const [uri, timer] of this.waiting) {
      clearTimeout(timer);
      this.due.add(uri);
    }
    this.waiting.clear();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.generations > 0) return;
      for (const uri of [...this.due]) this.schedule(uri);
    };
  }

  /** The document closed: nothing of its unsaved text is indexed any more. */
  closed(uri: string): void {
    clearTimeout(this.waiting.get(uri));
    this.waiting.delete(uri);
    this.due.delete(uri);
    this.running.get(uri)?.abort();
  }

  dispose(): void {
    for (const uri of [...this.waiting.keys(), ...this.running.keys(), ...this.due]) this.closed(uri);
  }

  private schedule(uri: string): void {
    if (this.generations > 0) return void this.due.add(uri);
    this.due.delete(uri);
    clearTimeout(this.waiting.get(uri));
    this.waiting.set(
      uri,
      setTimeout(() => this.start(uri), this.idleMs),
    );
  }

  private start(uri: string): void {
    this.waiting.delete(uri);
    const controller = new AbortController();
    this.running.set(uri, controller);
    void this.refresh(uri, controller.signal).finally(() => {
      if (this.running.get(uri) === controller) this.running.delete(uri);
    });
  }
}
