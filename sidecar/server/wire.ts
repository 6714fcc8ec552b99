// The engine's results as the protocol carries them: the one place where a field of the sidecar's
// own types is chosen to go to the editor (common/protocol.ts declares the wire types itself).
import type { Completion, NodeLevel, PanelNode } from "../../common/protocol";
import type { Level } from "../cache/hierarchy";
import type { RetrievedNode } from "../cache/retrieval";
import type { CompletionResult } from "../completion/types";

// The protocol mirrors the hierarchy's levels: this fails to compile the day they part.
const sameLevels: [Level, NodeLevel] extends [NodeLevel, Level] ? true : never = true;
void sameLevels;

function panelNode(node: RetrievedNode, root: string): PanelNode {
  return {
    id: node.id,
    level: node.level,
    partial: node.partial,
    root,
    path: node.path,
    spans: node.spans.map((span) => ({ ...span })),
    score: node.score,
  };
}

/** A completion of the folder at `root` (node paths stay relative to it). */
export function toCompletion(result: CompletionResult, root: string): Completion {
  return {
    kind: "completion",
    text: result.text,
    mode: result.mode,
    stopReason: result.stopReason,
    promptTokens: result.promptTokens,
    pseudoTokens: result.pseudoTokens,
    contextTokens: result.contextTokens,
    entityTokens: result.entityTokens,
    entityNames: [...result.entityNames],
    reused: result.reused,
    decoded: result.decoded,
    generatedTokens: result.generatedTokens,
    retrievalReused: result.retrievalReused ?? false,
    nodes: result.nodes.map((node) => panelNode(node, root)),
    timings: { ...result.timings },
  };
}
