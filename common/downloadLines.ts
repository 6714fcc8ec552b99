// What `hef download <uri> --json` prints, one JSON object per line: progress, then the path.
// The CLI (sidecar/cli/download.ts) writes it and the extension (extension/modelDownload.ts)
// reads it, so it is declared here, between the two.

export type DownloadLine = { downloaded: number; total: number } | { path: string };

export function downloadLine(line: DownloadLine): string {
  return `${JSON.stringify(line)}\n`;
}

/** The line's message, or undefined for anything else on stdout (node-llama-cpp prints notices of its own there). */
export function parseDownloadLine(line: string): DownloadLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  if (typeof fields.path === "string") return { path: fields.path };
  if (typeof fields.downloaded === "number" && typeof fields.total === "number")
    return { downloaded: fields.downloaded, total: fields.total };
  return undefined;
}
