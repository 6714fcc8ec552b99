// Jobs on one native handle run one at a time, in the order they were asked for: the native side
// holds a lock per handle, but threads of libuv's pool take that lock in no particular order.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` once every job queued before it has settled; a failed job does not stop the next. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Settles when every job queued so far has. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
