/**
 * Calls `run` at most once per `ms`, always with the latest state: a burst of progress updates
 * becomes one call now and one at the end of the window, so the last state is never lost.
 * `flush` calls it at once (state transitions such as "ready" should not wait).
 */
export function throttle(run: () => void, ms: number): { (): void; flush(): void; cancel(): void } {
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    last = performance.now();
    run();
  };
  const call = () => {
    if (timer) return;
    const wait = last + ms - performance.now();
    if (wait <= 0) flush();
    else timer = setTimeout(flush, wait);
  };
  return Object.assign(call, { flush, cancel: () => clearTimeout(timer) });
}
