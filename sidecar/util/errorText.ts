/** An error's first line: what a status, a log line or a skip reason shows of it. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.trim() || "unknown error";
}
