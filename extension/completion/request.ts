// What the provider asks the sidecar, from the settings and the text around the cursor.
import type { CompleteParams, SidecarStatus } from "../../sidecar/protocol";
import type { HefSettings } from "../settings";
import type { Cursor } from "./typeThrough";

export function completeParams(settings: HefSettings, root: string, path: string, at: Cursor, force: boolean): CompleteParams {
  return {
    root,
    path,
    prefix: at.prefix,
    suffix: at.suffix,
    mode: settings.mode,
    k: settings.k,
    maxTokens: settings.maxTokens,
    singleLine: !settings.multiline,
    force,
  };
}

/**
 * Whether the folder's cache is being built for the first time, when a completion would either
 * wait for the whole index or run without retrieval. A rebuild of an existing cache keeps serving
 * from the old nodes; a folder the status does not list is left to the sidecar to judge.
 */
export function awaitingFirstIndex(status: SidecarStatus | undefined, root: string): boolean {
  const folder = status?.folders.find((f) => f.root === root);
  return folder !== undefined && folder.state !== "ready" && folder.nodes === 0;
}
