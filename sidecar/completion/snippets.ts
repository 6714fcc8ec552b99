// The raw text of retrieved chunks, for the rag baseline: read from the files as they are now.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RetrievedNode } from "../cache/retrieval";
import type { Snippet } from "./promptAssembly";

/** One snippet per span of each node, in the nodes' order; spans of files that can no longer be read are left out. */
export function readSnippets(root: string, nodes: readonly RetrievedNode[]): Snippet[] {
  const lines = new Map<string, string[] | undefined>();
  const linesOf = (path: string): string[] | undefined => {
    if (!lines.has(path)) {
      try {
        lines.set(path, readFileSync(join(root, path), "utf8").split("\n"));
      } catch {
        lines.set(path, undefined);
      }
    }
    return lines.get(path);
  };
  const snippets: Snippet[] = [];
  for (const node of nodes) {
    for (const span of node.spans) {
      const fileLines = linesOf(span.path);
      if (!fileLines || span.startLine === undefined) continue;
      const endLine = span.endLine ?? fileLines.length;
      snippets.push({ path: span.path, text: fileLines.slice(span.startLine - 1, endLine).join("\n"), startLine: span.startLine, endLine });
    }
  }
  return snippets;
}
