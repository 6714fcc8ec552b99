// What the provider asks the sidecar, from the settings and the cursor. The sidecar holds the
// document's text (LSP sync, common/protocol.ts "Documents"): the request names it, its version and
// the cursor.
import type { CompleteParams, SidecarStatus } from "../../common/protocol";
import type { SidecarState } from "../services";
import type { HefSettings } from "../settings";

/** A document version and a place in it, as LSP names them. */
export interface DocumentPosition {
  uri: string;
  version: number;
  line: number;
  character: number;
}

export function completeParams(
  settings: HefSettings,
  root: string,
  at: DocumentPosition,
  force: boolean,
): CompleteParams {
  return {
    root,
    textDocument: { uri: at.uri, version: at.version },
    position: { line: at.line, character: at.character },
    mode: settings.mode,
    k: settings.k,
    maxTokens: settings.maxTokens,
    singleLine: !settings.multiline,
    entities: settings.entities,
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

/** What "HEF: Complete now" needs to know to tell why it cannot complete. */
export interface CompleteNowContext {
  trusted: boolean;
  enabled: boolean;
  /** The active editor's document; undefined when no editor has focus. */
  document?: { scheme: string; languageId: string; inFolder: boolean };
  languageEnabled: boolean;
  sidecar: SidecarState;
  status: SidecarStatus | undefined;
}

/**
 * Why an explicit request would complete nothing, in one sentence; undefined when it can run. The
 * editor's own trigger returns nothing in each of these cases, which left "Complete now" silent.
 */
export function whyNoCompletion(context: CompleteNowContext): string | undefined {
  const { document } = context;
  if (!context.trusted) return "this workspace is not trusted; HEF Code completes in trusted workspaces only.";
  if (!context.enabled) return "inline completions are off; “HEF: Toggle inline completions” turns them on.";
  if (!document) return "no file has the focus; put the cursor in a file of a workspace folder.";
  if (document.scheme !== "file") return "this file is not saved; HEF completes files saved in a workspace folder.";
  if (!document.inFolder)
    return "this file is outside the workspace folders; HEF completes files of the folders it indexes.";
  if (!context.languageEnabled) return `hef.enabledLanguages does not include “${document.languageId}”.`;
  if (context.sidecar === "stopped")
    return "the sidecar is not running; “HEF: Restart sidecar” starts it (the log says why it stopped).";
  if (context.sidecar === "starting" || !context.status) return "the sidecar is starting; try again in a moment.";
  if (context.status.error) return `${context.status.error}. “HEF: Select models” picks others or the defaults.`;
  return undefined;
}
