// Generation comes first. Completions, speculations and pre-warms are generations; indexing (a first
// index, the refresh after a save, the editor's unsaved text) is background work that waits for them.
// On a CPU the embedder and the generator, two threads each, share the cores: a refresh beside a
// generation slows both (bench:latency, 0.5B-shape generator and 0.6B-shape embedder: 16 tokens
// decoded in 11.6 s instead of 0.3).

/** How long background embedding waits after the last generation ended: typing asks again within it. */
export const BACKGROUND_REST_MS = 1_000;

export class Generations {
  private running = 0;
  /** When the last generation ended (by `now`); none yet: any rest is over. */
  private lastEnd = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<(busy: boolean) => void>();

  /** `now` in milliseconds: monotonic, so that the wall clock set back cannot hold indexing back. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  get busy(): boolean {
    return this.running > 0;
  }

  /** A generation starts; returns its end (ending twice counts once). */
  begin(): () => void {
    if (this.running++ === 0) this.notify(true);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.running > 0) return;
      this.lastEnd = this.now();
      this.notify(false);
    };
  }

  /** Called with true when the first generation starts and false when the last one ends. */
  onChange(listener: (busy: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once no generation runs and none has ended for `restMs`: at once when that is so
   * already. A generation that starts meanwhile starts the wait again. Rejects when `signal` aborts.
   */
  rest(restMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.busy && this.now() - this.lastEnd >= restMs) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = () => {
        clearTimeout(timer);
        timer = undefined;
        if (this.busy) return;
        timer = setTimeout(done, Math.max(0, restMs - (this.now() - this.lastEnd)));
      };
      const stop = this.onChange(wait);
      const aborted = () => {
        finish();
        reject(signal!.reason);
      };
      const finish = () => {
        clearTimeout(timer);
        stop();
        signal?.removeEventListener("abort", aborted);
      };
      function done() {
        finish();
        resolve();
      }
      signal?.addEventListener("abort", aborted, { once: true });
      wait();
    });
  }

  private notify(busy: boolean): void {
    for (const listener of [...this.listeners]) listener(busy);
  }
}
