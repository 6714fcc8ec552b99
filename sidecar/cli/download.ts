// `hef download <uri> --dir <dir>`: a model fetched through node-llama-cpp. node-llama-cpp retries
// an unreachable host without end and does not heed its abort signal meanwhile, so this command
// gives up on its own (a host that cannot be reached, or no byte for --timeout seconds) and exits,
// which ends the retries; the editor runs it as a child process it can kill for the same reason.
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { positiveInt, UsageError, type Values } from "./args";
import { downloadLine } from "../../common/downloadLines";

/** The URI forms node-llama-cpp resolves (besides local paths, which are no download). */
const MODEL_URI = /^(https?:\/\/|hf:|huggingface:|hf\.co\/|huggingface\.co\/)/;
const WEB_URL = /^https?:\/\//;

/** Progress is printed at most this often. */
const PROGRESS_INTERVAL_MS = 250;

/** Where hf: URIs resolve: the variables node-llama-cpp reads itself, passed to it explicitly so that the probe and the download agree. */
export function huggingFaceEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const set = [env.MODEL_ENDPOINT, env.HF_ENDPOINT].find((value) => value !== undefined && WEB_URL.test(value));
  return set ? (set.endsWith("/") ? set : `${set}/`) : "https://huggingface.co/";
}

function unreachable(uri: string, detail: string): Error {
  return new Error(`could not download ${uri}: no network connection / host unreachable (${detail})`);
}

/** Fails at once where node-llama-cpp would retry for ever: no network, an unknown host, a refused connection. */
async function probe(uri: string, host: string, timeoutMs: number): Promise<void> {
  try {
    // Any answer, even an error status, shows the host is there; the download reports what else is wrong.
    await fetch(host, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    const timedOut = (error as Error).name === "TimeoutError";
    throw unreachable(uri, timedOut ? `no answer in ${timeoutMs / 1000} s` : (cause ?? (error as Error).message));
  }
}

function progressPrinter(json: boolean): (downloaded: number, total: number) => void {
  let last = 0;
  return (downloaded, total) => {
    const now = Date.now();
    if (downloaded < total && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    if (json) return void process.stdout.write(downloadLine({ downloaded, total }));
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    const percent = total > 0 ? ` (${Math.floor((100 * downloaded) / total)}%)` : "";
    // stderr, so that stdout holds the path alone.
    process.stderr.write(`${mib(downloaded)} of ${mib(total)} MiB${percent}\n`);
  };
}

export async function runDownload(uri: string, values: Values): Promise<void> {
  if (!MODEL_URI.test(uri))
    throw new UsageError(`download takes a model URI (hf:owner/repo/file.gguf) or an https URL, got "${uri}"`);
  if (!values.dir) throw new UsageError("download needs --dir <dir>");
  const timeoutMs = positiveInt(values.timeout, "timeout", 30) * 1000;
  const directory = resolve(values.dir);
  const endpoint = huggingFaceEndpoint();
  await probe(uri, WEB_URL.test(uri) ? new URL(uri).origin : endpoint, timeoutMs);
  mkdirSync(directory, { recursive: true });

  const { resolveModelFile } = await import("node-llama-cpp");
  const print = progressPrinter(values.json ?? false);
  let received = 0;
  let timer!: NodeJS.Timeout;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unreachable(uri, `nothing received for ${timeoutMs / 1000} s`)), timeoutMs);
  });
  const download = resolveModelFile(uri, {
    directory,
    cli: false,
    endpoints: { huggingFace: endpoint },
    onProgress: ({ downloadedSize, totalSize }) => {
      if (downloadedSize <= received) return;
      received = downloadedSize;
      timer.refresh();
      print(downloadedSize, totalSize);
    },
  }).catch((error: Error) => {
    throw new Error(`could not download ${uri}: ${error.message.split("\n")[0]}`);
  });
  let path: string;
  try {
    path = await Promise.race([download, stalled]);
  } finally {
    clearTimeout(timer);
  }
  // An answer with no body leaves node-llama-cpp returning the path of a file it never wrote.
  if (!existsSync(path)) throw new Error(`could not download ${uri}: the server sent no file`);
  process.stdout.write(values.json ? downloadLine({ path }) : `${path}\n`);
}
