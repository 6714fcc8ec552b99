import type { HefCache, Phase, RunReport } from "../cache/hefCache";

/** A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): {
  update: (phase: Phase | "completing" | "tasks", done: number, total: number) => void;
  end: () => void;
} {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update(phase, done, total) {
      const now = Date.now();
      if (done < total && now - last < 80) return;
      last = now;
      shown = true;
      const width = 30;
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      stream.write(
        `\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(percent).padStart(3)}% ${phase} ${done}/${total}`,
      );
    },
    end() {
      if (shown) stream.write("\r\x1b[2K");
    },
  };
}

/** A run stopped by SIGINT or SIGTERM, after the vectors embedded so far were saved. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted (${signal}): the chunks embedded so far are saved, the next run goes on from there`);
    this.name = "Interrupted";
  }
}

/** Syncs a cache with a progress bar on a terminal; Ctrl-C or SIGTERM keeps what was embedded. */
export async function syncWithProgress(cache: HefCache): Promise<RunReport> {
  const bar = progressBar();
  const stop = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    received = signal;
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await cache.sync(bar.update, stop.signal);
  } catch (error) {
    if (!received) throw error;
    await cache.checkpoint();
    throw new Interrupted(received);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    bar.end();
  }
}
