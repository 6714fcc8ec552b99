// Unsaved edits reach retrieval: once the user has rested EDIT_IDLE_MS on an open document, its text
// as the editor holds it refreshes that file's chunks and nodes (HefCache.refreshText), so a function
// typed a minute ago is retrievable before it is saved. Completions come first: a completion request
// defers every refresh still waiting and stops the ones that run (they run again at the next rest),
// so a request never waits behind re-embedding. Closing a document cancels its refresh; the caller
// brings the disk's version back.

/** How long a document rests unedited, and completions rest, before its text is indexed. */
export const EDIT_IDLE_MS = 2_000;

export class UnsavedEdits {
  private readonly waiting = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, AbortController>();

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

  /** A completion request: what waits starts waiting again, what runs stops and waits again. */
  completing(): void {
    for (const [uri, controller] of this.running) {
      controller.abort();
      this.schedule(uri);
    }
    for (const uri of this.waiting.keys()) this.schedule(uri);
  }

  /** The document closed: nothing of its unsaved text is indexed any more. */
  closed(uri: string): void {
    clearTimeout(this.waiting.get(uri));
    this.waiting.delete(uri);
    this.running.get(uri)?.abort();
  }

  dispose(): void {
    for (const uri of [...this.waiting.keys(), ...this.running.keys()]) this.closed(uri);
  }

  private schedule(uri: string): void {
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
