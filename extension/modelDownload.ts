// Downloads a model named by a URI (hf:owner/repo/file.gguf, https://...) with `hef download`, in a
// child process: node-llama-cpp retries an unreachable host without end and does not heed its
// abort signal meanwhile, so only ending the process it runs in stops it. No editor API here, so
// the failure paths are tested in Node.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseDownloadLine } from "../common/downloadLines";

/** A download that receives nothing for this long is given up (no network, a stalled server). */
export const STALL_TIMEOUT_MS = 30_000;

export interface ModelDownloads {
  /** The hef command line (the bundled dist/hef.mjs), run by the editor's own Node. */
  cli: string;
  /** Where downloaded models go. */
  directory: string;
  stallTimeoutMs?: number;
}

export interface DownloadOptions extends ModelDownloads {
  onProgress?: (downloaded: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * The local path of the model. Rejects with a one-line message once the child is gone: an
 * AbortError when the signal cancelled it, else what went wrong.
 */
export function downloadModel(uri: string, options: DownloadOptions): Promise<string> {
  const stallMs = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.cli, "download", uri, "--dir", options.directory, "--json"], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let failure: Error | undefined;
    const stop = (error: Error) => {
      failure ??= error;
      child.kill("SIGKILL");
    };
    const stall = setTimeout(
      () => stop(new Error(`could not download ${uri}: no network connection / host unreachable`)),
      stallMs,
    );
    const cancel = () => stop(Object.assign(new Error(`downloading ${uri} was cancelled`), { name: "AbortError" }));
    if (options.signal?.aborted) cancel();
    options.signal?.addEventListener("abort", cancel, { once: true });

    let path: string | undefined;
    let received = 0;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const message = parseDownloadLine(line);
      if (!message) return;
      if ("path" in message) path = message.path;
      else if (message.downloaded > received) {
        received = message.downloaded;
        stall.refresh();
        options.onProgress?.(message.downloaded, message.total);
      }
    });
    let cliError = "";
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (line.startsWith("hef: ")) cliError = line.slice("hef: ".length);
    });

    child.on("error", (error) => stop(new Error(`could not run hef download: ${error.message}`)));
    child.on("close", (code) => {
      clearTimeout(stall);
      options.signal?.removeEventListener("abort", cancel);
      if (failure) reject(failure);
      else if (code === 0 && path) resolve(path);
      else reject(new Error(cliError || `could not download ${uri}: hef download exited with code ${code}`));
    });
  });
}
