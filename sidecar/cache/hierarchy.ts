import { createHash } from "node:crypto";
import { posix } from "node:path";

/**
 * The shape of the hierarchical cache (paper Algorithm 1, lines 5-13), as plain data: chunks are
 * grouped by file, files and sub-directories by directory, up to the repository root, at most b
 * siblings per parent. Vectors live elsewhere; this module decides which nodes exist.
 *
 * Node ids are derived from a node's inputs (its level, path and children's ids, or a chunk's
 * content), so a node whose inputs did not change keeps its id across refreshes, and the set
 * difference of two hierarchies is exactly the work a refresh must do.
 */

export type Level = "chunk" | "file" | "module" | "repo";

/** Where a node's source lies: a line range of a file, or a whole directory (no lines). */
export interface NodeSpan {
  path: string;
  startLine?: number;
  endLine?: number;
}

export interface HNode {
  /** 16 hex digits, derived from the node's inputs; also its usearch key. */
  id: string;
  level: Level;
  /** An intermediate group inside a file or directory that has more than b children. */
  partial: boolean;
  /** The file (chunk and file levels) or directory (module and repo levels) the node belongs to. */
  path: string;
  children: string[];
  spans: NodeSpan[];
  /** Distance from the chunks below: 0 for chunks. */
  height: number;
  /** Chunks only: the content hash their embedding is cached under. */
  contentHash?: string;
}

/** What the hierarchy needs to know of one chunk of a file. */
export interface ChunkEntry {
  hash: string;
  startLine: number;
  endLine: number;
  startByte: number;
  endByte: number;
  tokens: number;
}

/** One indexed file: its whole-content hash (to notice changes) and its chunks in order. */
export interface FileEntry {
  path: string;
  hash: string;
  chunks: ChunkEntry[];
}

export interface Subtree {
  root: HNode;
  /** Every node of the subtree, children before parents, root last. */
  nodes: HNode[];
}

export interface FileTree extends Subtree {
  entry: FileEntry;
}

export interface Hierarchy {
  readonly b: number;
  readonly files: ReadonlyMap<string, FileTree>;
  /** Directory path ("." for the repository root) to the module nodes of that directory. */
  readonly dirs: ReadonlyMap<string, Subtree>;
}

export interface HierarchyUpdate {
  hierarchy: Hierarchy;
  /** Nodes whose ids are new: they need a vector and an index entry. Children before parents. */
  added: HNode[];
  /** Ids that no longer exist: their index entries go. */
  removed: string[];
  /** Every node of the rebuilt subtrees, with fresh metadata (spans move when lines shift). */
  current: HNode[];
  /** Every node of the subtrees that were rebuilt, as they were. */
  previous: HNode[];
}

export const ROOT_DIR = ".";

/** Children fused per parent (the paper's b) where no adapter says otherwise. */
export const DEFAULT_BRANCHING = 8;

export function emptyHierarchy(b: number): Hierarchy {
  if (!Number.isInteger(b) || b < 2) throw new Error(`branching factor must be an integer >= 2, got ${b}`);
  return { b, files: new Map(), dirs: new Map() };
}

export function parentDir(path: string): string {
  const dir = posix.dirname(path);
  return dir === "" ? ROOT_DIR : dir;
}

function ancestorsOf(path: string): string[] {
  const dirs: string[] = [];
  let dir = parentDir(path);
  for (;;) {
    dirs.push(dir);
    if (dir === ROOT_DIR) return dirs;
    dir = parentDir(dir);
  }
}

function nodeId(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 16);
}

/** Splits into the fewest consecutive groups of at most b, as even in size as possible. */
export function splitEvenly<T>(items: readonly T[], b: number): T[][] {
  const groupCount = Math.ceil(items.length / b);
  const groups: T[][] = [];
  let start = 0;
  for (let g = 0; g < groupCount; g++) {
    const size = Math.ceil((items.length - start) / (groupCount - g));
    groups.push(items.slice(start, start + size));
    start += size;
  }
  return groups;
}

type MakeParent = (children: HNode[], partial: boolean) => HNode;

/** Fuses children up in groups of at most b until one parent is left; intermediate nodes are partial. */
function groupUp(children: HNode[], b: number, makeParent: MakeParent, out: HNode[]): HNode {
  let layer = children;
  while (layer.length > b) {
    layer = splitEvenly(layer, b).map((group) => {
      const node = makeParent(group, true);
      out.push(node);
      return node;
    });
  }
  const root = makeParent(layer, false);
  out.push(root);
  return root;
}

function lineRange(path: string, children: HNode[]): NodeSpan {
  const first = children[0]!.spans[0]!;
  const last = children[children.length - 1]!.spans.at(-1)!;
  return { path, startLine: first.startLine, endLine: last.endLine };
}

/** The ids of a file's chunk nodes, in the order of its chunks. */
export function chunkNodeIds(entry: FileEntry): string[] {
  const seen = new Map<string, number>();
  return entry.chunks.map((chunk) => {
    // Equal text twice in one file: the occurrence number keeps the two nodes apart.
    const occurrence = seen.get(chunk.hash) ?? 0;
    seen.set(chunk.hash, occurrence + 1);
    return nodeId("chunk", entry.path, chunk.hash, String(occurrence));
  });
}

export function buildFileTree(entry: FileEntry, b: number): FileTree | undefined {
  if (entry.chunks.length === 0) return undefined;
  const nodes: HNode[] = [];
  const ids = chunkNodeIds(entry);
  const chunkNodes = entry.chunks.map((chunk, i): HNode => {
    const node: HNode = {
      id: ids[i]!,
      level: "chunk",
      partial: false,
      path: entry.path,
      children: [],
      spans: [{ path: entry.path, startLine: chunk.startLine, endLine: chunk.endLine }],
      height: 0,
      contentHash: chunk.hash,
    };
    nodes.push(node);
    return node;
  });
  const root = groupUp(
    chunkNodes,
    b,
    (children, partial) => ({
      id: nodeId(partial ? "file-part" : "file", entry.path, ...children.map((c) => c.id)),
      level: "file",
      partial,
      path: entry.path,
      children: children.map((c) => c.id),
      spans: [lineRange(entry.path, children)],
      height: 1 + Math.max(...children.map((c) => c.height)),
    }),
    nodes,
  );
  return { root, nodes, entry };
}

function moduleSpans(children: HNode[]): NodeSpan[] {
  return children.flatMap((child) => {
    if (child.level === "file") return [lineRange(child.path, [child])];
    return child.partial ? child.spans : [{ path: child.path }];
  });
}

export function buildDirTree(dir: string, children: HNode[], b: number): Subtree {
  const nodes: HNode[] = [];
  const level: Level = dir === ROOT_DIR ? "repo" : "module";
  const root = groupUp(
    children,
    b,
    (group, partial) => ({
      id: nodeId(partial ? `${level}-part` : level, dir, ...group.map((c) => c.id)),
      level,
      partial,
      path: dir,
      children: group.map((c) => c.id),
      spans: partial ? moduleSpans(group) : [{ path: dir }],
      height: 1 + Math.max(...group.map((c) => c.height)),
    }),
    nodes,
  );
  return { root, nodes };
}

interface DirChildren {
  files: string[];
  dirs: Set<string>;
}

/** The direct children of every directory that holds an indexed file somewhere below it. */
function indexChildren(files: Iterable<string>): Map<string, DirChildren> {
  const index = new Map<string, DirChildren>();
  const entryFor = (dir: string) => {
    let entry = index.get(dir);
    if (!entry) index.set(dir, (entry = { files: [], dirs: new Set() }));
    return entry;
  };
  for (const file of files) {
    entryFor(parentDir(file)).files.push(file);
    let dir = parentDir(file);
    while (dir !== ROOT_DIR) {
      const parent = entryFor(parentDir(dir));
      if (parent.dirs.has(dir)) break;
      parent.dirs.add(dir);
      dir = parentDir(dir);
    }
  }
  return index;
}

function depthOf(dir: string): number {
  return dir === ROOT_DIR ? 0 : dir.split("/").length;
}

/**
 * Applies changed files (null: deleted) and rebuilds exactly the affected file subtrees and their
 * ancestor directories. A rename is a deletion plus an addition in the same call.
 */
export function updateHierarchy(hierarchy: Hierarchy, changes: ReadonlyMap<string, FileEntry | null>): HierarchyUpdate {
  const { b } = hierarchy;
  const files = new Map(hierarchy.files);
  const dirs = new Map(hierarchy.dirs);
  const previous: HNode[] = [];
  const current: HNode[] = [];
  const affectedDirs = new Set<string>();

  for (const [path, entry] of changes) {
    const old = files.get(path);
    if (old) previous.push(...old.nodes);
    const tree = entry ? buildFileTree(entry, b) : undefined;
    if (tree) {
      files.set(path, tree);
      current.push(...tree.nodes);
    } else {
      files.delete(path);
    }
    for (const dir of ancestorsOf(path)) affectedDirs.add(dir);
  }

  const children = indexChildren(files.keys());
  const deepestFirst = [...affectedDirs].sort((a, c) => depthOf(c) - depthOf(a) || a.localeCompare(c));
  for (const dir of deepestFirst) {
    const old = dirs.get(dir);
    if (old) previous.push(...old.nodes);
    const entry = children.get(dir);
    if (!entry) {
      dirs.delete(dir);
      continue;
    }
    const roots = [
      ...entry.files.map((f) => files.get(f)!.root),
      ...[...entry.dirs].map((d) => dirs.get(d)!.root),
    ].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    const tree = buildDirTree(dir, roots, b);
    dirs.set(dir, tree);
    current.push(...tree.nodes);
  }

  const previousIds = new Set(previous.map((n) => n.id));
  const currentIds = new Set(current.map((n) => n.id));
  return {
    hierarchy: { b, files, dirs },
    added: current.filter((n) => !previousIds.has(n.id)),
    removed: [...previousIds].filter((id) => !currentIds.has(id)),
    current,
    previous,
  };
}

export function allNodes(hierarchy: Hierarchy): HNode[] {
  const nodes: HNode[] = [];
  for (const tree of hierarchy.files.values()) nodes.push(...tree.nodes);
  for (const tree of hierarchy.dirs.values()) nodes.push(...tree.nodes);
  return nodes;
}

/** Nodes per level, intermediate (partial) nodes counted apart, so the levels sum with them to the total. */
export function countByLevel(nodes: Iterable<HNode>): Record<Level, number> & { partial: number } {
  const counts = { chunk: 0, file: 0, module: 0, repo: 0, partial: 0 };
  for (const node of nodes) {
    if (node.partial) counts.partial++;
    else counts[node.level]++;
  }
  return counts;
}
