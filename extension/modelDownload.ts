// Downloads a model named by a URI (hf:owner/repo/file.gguf, https://...) through node-llama-cpp,
// into the extension's models folder. No editor API here, so the failure paths are tested in Node.

/** A download that receives nothing for this long is given up (no network, a stalled server). */
export const STALL_TIMEOUT_MS = 30_000;

export interface DownloadOptions {
  directory: string;
  onProgress?: (downloaded: number, total: number) => void;
  signal?: AbortSignal;
  stallTimeoutMs?: number;
}

/** The local path of the model; rejects with a one-line message that says what to do instead. */
export async function downloadModel(uri: string, options: DownloadOptions): Promise<string> {
  const stall = new AbortController();
  const timeoutMs = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  let timer = setTimeout(() => stall.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  // node-llama-cpp does not always stop on the signal (a refused connection is retried), so the abort settles it here.
  const aborted = new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
  let received = 0;
  try {
    // node-llama-cpp is ESM-only and large: loaded only when a download is asked for.
    const { resolveModelFile } = await import("node-llama-cpp");
    const download = resolveModelFile(uri, {
      directory: options.directory,
      cli: false,
      signal,
      onProgress: ({ downloadedSize, totalSize }) => {
        if (downloadedSize <= received) return;
        received = downloadedSize;
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(), timeoutMs);
        options.onProgress?.(downloadedSize, totalSize);
      },
    });
    return await Promise.race([download, aborted]);
  } catch (error) {
    if (options.signal?.aborted) throw new Error(`downloading ${uri} was cancelled`);
    const reason = stall.signal.aborted ? `nothing received for ${timeoutMs / 1000} s` : ((error as Error).message.split("\n")[0] ?? "unknown error");
    throw new Error(`could not download ${uri}: ${reason}. Check the network connection, or pick a local .gguf file.`);
  } finally {
    clearTimeout(timer);
  }
}
