// The raw text of retrieved chunks, for the rag baseline: read from the files as they are now.
import type { RetrievedNode } from "../cache/retrieval";
import type { Snippet } from "./promptAssembly";

/** One snippet per span of each node, in the nodes' order; spans of files that can no longer be read are left out. */
export async function readSnippets(
  read: (path: string) => Promise<string | undefined>,
  nodes: readonly RetrievedNode[],
): Promise<Snippet[]> {
  const lines = new Map<string, string[] | undefined>();
  const linesOf = async (path: string): Promise<string[] | undefined> => {
    if (!lines.has(path)) lines.set(path, (await read(path))?.split("\n"));
    return lines.get(path);
  };
  const snippets: Snippet[] = [];
  for (const node of nodes) {
    for (const span of node.spans) {
      const fileLines = await linesOf(span.path);
      if (!fileLines || span.startLine === undefined) continue;
      const endLine = span.endLine ?? fileLines.length;
      snippets.push({
        path: span.path,
        text: fileLines.slice(span.startLine - 1, endLine).join("\n"),
        startLine: span.startLine,
        endLine,
      });
    }
  }
  return snippets;
}
