// Unsaved edits reach retrieval: once the user has rested EDIT_IDLE_MS on an open document, its text
// as the editor holds it refreshes that file's chunks and nodes (HefCache.refreshText), so a function
// typed a minute ago is retrievable before it is saved. Generation comes first (generations.ts): while
// a completion, a speculation or a pre-warm runs, no refresh starts, and one that runs stops (it runs
// again at the next rest); the rest is counted from when the last of them ended, not from when it
// began. Closing a document cancels its refresh; the caller brings the disk's version back.

import type { Generations } from "./generations";

/** How long a document rests unedited, and generation rests, before its text is indexed. */
export const EDIT_IDLE_MS = 2_000;

export class UnsavedEdits {
  private readonly waiting = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, AbortController>();
  /** Documents to refresh once no generation runs. */
  private readonly due = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    /** Indexes the document's current text; the signal aborts when a completion comes. */
    private readonly refresh: (uri: string, signal: AbortSignal) => Promise<void>,
    private readonly generations: Generations,
    private readonly idleMs = EDIT_IDLE_MS,
  ) {
    this.unsubscribe = generations.onChange((busy) => (busy ? this.pause() : this.resume()));
  }

  /** The document changed: its refresh waits for the next rest. */
  edited(uri: string): void {
    this.running.get(uri)?.abort();
    this.schedule(uri);
  }

  /** The document closed: nothing of its unsaved text is indexed any more. */
  closed(uri: string): void {
    clearTimeout(this.waiting.get(uri));
    this.waiting.delete(uri);
    this.due.delete(uri);
    this.running.get(uri)?.abort();
  }

  dispose(): void {
    this.unsubscribe();
    for (const uri of [...this.waiting.keys(), ...this.running.keys(), ...this.due]) this.closed(uri);
  }

  /** The first generation started: what waits is put off and what runs stops. */
  private pause(): void {
    for (const [uri, controller] of this.running) {
      controller.abort();
      this.due.add(uri);
    }
    for (const [uri, timer] of this.waiting) {
      clearTimeout(timer);
      this.due.add(uri);
    }
    this.waiting.clear();
  }

  /** The last generation ended: what was put off waits a whole rest again. */
  private resume(): void {
    for (const uri of [...this.due]) this.schedule(uri);
  }

  private schedule(uri: string): void {
    if (this.generations.busy) return void this.due.add(uri);
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
