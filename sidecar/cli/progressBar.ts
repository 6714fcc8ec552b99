import type { HefCache, Phase, RunReport } from "../cache/hefCache";

/** A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): { update: (phase: Phase | "completing" | "tasks", done: number, total: number) => void; end: () => void } {
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
      stream.write(`\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(percent).padStart(3)}% ${phase} ${done}/${total}`);
    },
    end() {
      if (shown) stream.write("\r\x1b[2K");
    },
  };
}

/** Syncs a cache with a progress bar on a terminal. */
export async function syncWithProgress(cache: HefCache): Promise<RunReport> {
  const bar = progressBar();
  try {
    return await cache.sync(bar.update);
  } finally {
    bar.end();
  }
}
