// `hef export` on a repositories folder holding samples/shop (plus a file with a byte order mark and
// an empty repository): the files agree with each other and with the repository, each task's view
// holds nothing at or after its target line, the query vectors are the engine's, and a second
// export of the same inputs is byte-identical.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { asIncrementalEncoder, embedQuery } from "../../sidecar/completion/queryEncoder";
import { parseTasks, type LineTask } from "../../sidecar/eval/tasks";
import { ensureTinyModel } from "../../sidecar/syntheticModels/generatedModels";
import { NativeEncoder } from "../../sidecar/native/encoder";
import {
  type ChunkRow,
  ExportFile,
  type ExportManifest,
  type NodeRow,
  type TaskRow,
} from "../../sidecar/training/exportFormat";
import { tinyEmbedder } from "../helpers/embedder";
import { buildNativeAddon } from "../helpers/nativeBuild";
import { tempDir } from "../helpers/repos";
import { cosine, maxAbsDiff } from "../helpers/vectors";

const skip = buildNativeAddon();

function hef(args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "sidecar/cli/hef.ts", ...args], { encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const scratch = tempDir("hef-export-");
const repos = join(scratch, "repos");
const shopRoot = join(repos, "shop");
cpSync("samples/shop", shopRoot, { recursive: true });
mkdirSync(join(repos, "empty"));
const BOM_FILE = "shop/labels.py";
writeFileSync(
  join(shopRoot, BOM_FILE),
  Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(
      '"""Shelf labels."""\n\n\nEURO = "€"\n\n\ndef label(name: str, price: str) -> str:\n    return f"{name} — {price} {EURO}"\n',
    ),
  ]),
);

interface Export {
  dir: string;
  manifest: ExportManifest;
  chunks: ChunkRow[];
  nodes: NodeRow[];
  tasks: TaskRow[];
  chunkVectors: Float32Array[];
  queryVectors: Float32Array[];
}

const jsonl = <T>(path: string): T[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as T);

function rows(path: string, dim: number): Float32Array[] {
  const bytes = readFileSync(path);
  assert.equal(bytes.length % (dim * 4), 0);
  return Array.from({ length: bytes.length / (dim * 4) }, (_, i) =>
    Float32Array.from({ length: dim }, (_, j) => bytes.readFloatLE((i * dim + j) * 4)),
  );
}

function readExport(dir: string): Export {
  const manifest = JSON.parse(readFileSync(join(dir, ExportFile.manifest), "utf8")) as ExportManifest;
  const dim = manifest.embedder.dim;
  return {
    dir,
    manifest,
    chunks: jsonl(join(dir, ExportFile.chunks)),
    nodes: jsonl(join(dir, ExportFile.nodes)),
    tasks: jsonl(join(dir, ExportFile.tasks)),
    chunkVectors: rows(join(dir, ExportFile.chunkVectors), dim),
    queryVectors: rows(join(dir, ExportFile.queryVectors), dim),
  };
}

// The tiny test embedder: fast, and the tests below compare with it.
const tinyEmbedderPath = await ensureTinyModel("tiny-embed");

function runExport(out: string, tasksFile: string): { code: number | null; stdout: string; stderr: string } {
  return hef([
    "export",
    repos,
    "--out",
    out,
    "--tasks",
    tasksFile,
    "--embedder",
    tinyEmbedderPath,
    "--backend",
    "cpu",
    "--json",
  ]);
}

/** Every file of a folder, by name. */
function folderBytes(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
}

describe("hef export", { skip }, () => {
  const tasksFile = join(scratch, "tasks.jsonl");
  const out = join(scratch, "out");
  let shop: Export;
  let tasks: LineTask[];

  before(() => {
    const made = hef(["tasks", repos, "--out", tasksFile, "--per-repo", "10", "--per-file", "2"]);
    assert.equal(made.code, 0, made.stderr);
    // One task in the file with a byte order mark, at its last line.
    const bom = readFileSync(join(shopRoot, BOM_FILE), "utf8").slice(1);
    const lines = bom.split("\n");
    const extra = {
      prompt: lines.slice(0, 7).join("\n") + "\n",
      groundtruth: lines[7],
      metadata: { task_id: "shop/bom", fpath_tuple: ["shop", ...BOM_FILE.split("/")], line_no: 7 },
    };
    writeFileSync(tasksFile, readFileSync(tasksFile, "utf8") + `${JSON.stringify(extra)}\n`);
    tasks = parseTasks(readFileSync(tasksFile, "utf8"));
    const result = runExport(out, tasksFile);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as {
      repos: { repo: string; tasks: number; chunks: number; nodes: number }[];
    };
    assert.deepEqual(
      summary.repos.map((r) => [r.repo, r.tasks]),
      [
        ["empty", 0],
        ["shop", tasks.length],
      ],
    );
    shop = readExport(join(out, "shop"));
  });

  test("the manifest counts what the files hold and what the index holds", () => {
    const m = shop.manifest;
    assert.equal(m.format, "hef-export");
    assert.equal(m.version, 1);
    assert.equal(m.repo, "shop");
    assert.equal(m.root, shopRoot);
    assert.equal(m.b, 8);
    assert.equal(m.files, 11);
    assert.deepEqual(m.skipped, []);
    assert.equal(m.chunks, shop.chunks.length);
    assert.equal(m.nodes, shop.nodes.length);
    assert.equal(m.tasks, shop.tasks.length);
    assert.equal(m.tasks, tasks.length);
    assert.equal(m.baseChunks, shop.nodes.filter((n) => n.level === "chunk").length);
    assert.ok(m.chunks > m.baseChunks, "task views add chunks");
    assert.equal(statSync(join(shop.dir, ExportFile.chunkVectors)).size, m.chunks * m.embedder.dim * 4);
    assert.equal(statSync(join(shop.dir, ExportFile.queryVectors)).size, m.tasks * m.embedder.dim * 4);
    assert.deepEqual(
      shop.chunks.map((c) => c.i),
      shop.chunks.map((_, i) => i),
    );
    assert.deepEqual(new Set(shop.nodes.filter((n) => n.level === "file").map((n) => n.path)).size, m.files);
  });

  test("nodes come children first, end with the repository node, and each base chunk row is one chunk node's", () => {
    const seen = new Set<string>();
    for (const node of shop.nodes) {
      for (const child of node.children) assert.ok(seen.has(child), `${node.id} before its child ${child}`);
      seen.add(node.id);
    }
    assert.equal(shop.nodes.at(-1)!.level, "repo");
    const rowsOfNodes = shop.nodes.filter((n) => n.level === "chunk").map((n) => n.chunk!);
    assert.deepEqual(
      rowsOfNodes,
      shop.chunks.slice(0, shop.manifest.baseChunks).map((c) => c.i),
    );
    for (const node of shop.nodes) assert.equal(node.chunk !== undefined, node.level === "chunk");
  });

  test("a chunk's text is its byte range of the file (after a byte order mark), and its vector the embedder's", async () => {
    const embedder = await tinyEmbedder();
    for (const chunk of shop.chunks.slice(0, shop.manifest.baseChunks)) {
      let bytes = readFileSync(join(shopRoot, chunk.path));
      if (chunk.path === BOM_FILE) {
        assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
        bytes = bytes.subarray(3);
      }
      assert.equal(
        bytes.toString("utf8", chunk.startByte, chunk.endByte),
        chunk.text,
        `${chunk.path}:${chunk.startLine}`,
      );
      const [vector] = await embedder.embed([chunk.text]);
      assert.ok(maxAbsDiff(vector!, shop.chunkVectors[chunk.i]!) < 1e-6, `${chunk.path}:${chunk.startLine}`);
    }
    assert.ok(shop.chunks.some((c) => c.path === BOM_FILE && c.text.includes("€")));
  });

  test("a task's view: base minus removed plus added, holding nothing at or after the target line", () => {
    const base = new Map(shop.nodes.map((n) => [n.id, n]));
    assert.deepEqual(
      shop.tasks.map((t) => t.taskId),
      tasks.map((t) => t.taskId),
    );
    for (const [i, row] of shop.tasks.entries()) {
      const task = tasks[i]!;
      assert.equal(row.path, task.path);
      assert.equal(row.lineNo, task.lineNo);
      assert.equal(row.query, i);
      for (const id of row.removed) assert.ok(base.has(id), `removed ${id} is a base node`);
      const view = new Map([...base].filter(([id]) => !row.removed.includes(id)));
      for (const node of row.added) {
        for (const child of node.children)
          assert.ok(view.has(child), `${task.taskId}: child ${child} of an added node`);
        assert.ok(!base.has(node.id));
        view.set(node.id, node);
      }
      const roots = [...view.values()].filter((n) => n.level === "repo" && !n.partial);
      assert.equal(roots.length, 1);
      const reachable: NodeRow[] = [];
      const visit = (node: NodeRow): void => {
        reachable.push(node);
        node.children.forEach((id) => visit(view.get(id)!));
      };
      visit(roots[0]!);
      assert.equal(reachable.length, view.size, "the view is one tree");
      const promptBytes = Buffer.byteLength(task.prompt.replace(/^\uFEFF/, ""));
      const targetChunks = reachable.filter((n) => n.level === "chunk" && n.path === task.path);
      assert.ok(targetChunks.length > 0, `${task.taskId}: the lines before the target are retrievable`);
      for (const node of targetChunks) {
        const chunk = shop.chunks[node.chunk!]!;
        assert.ok(
          node.spans[0]!.endLine! <= task.lineNo,
          `${task.taskId}: a chunk ends at line ${node.spans[0]!.endLine}, the target is line ${task.lineNo + 1}`,
        );
        assert.ok(task.prompt.includes(chunk.text), `${task.taskId}: chunk text from the prompt`);
        if (node.chunk! >= shop.manifest.baseChunks) assert.ok(chunk.endByte <= promptBytes);
      }
    }
  });

  test("a task's query vector is the engine's query embedding of its prompt", async () => {
    const encoder = await NativeEncoder.load(tinyEmbedderPath, { purpose: "embedder", gpuLayers: 0 });
    try {
      for (const [i, task] of tasks.entries()) {
        const query = await embedQuery(asIncrementalEncoder(encoder), task.prompt, shop.manifest.embedder.maxTokens);
        assert.ok(cosine(query.vector, shop.queryVectors[i]!) > 0.99999, task.taskId);
        assert.equal(query.tokens, shop.tasks[i]!.queryTokens);
      }
    } finally {
      await encoder.dispose();
    }
  });

  test("a repository without files has a manifest with nothing in it", () => {
    const empty = readExport(join(out, "empty"));
    assert.equal(empty.manifest.files, 0);
    assert.equal(empty.manifest.chunks, 0);
    assert.equal(empty.manifest.nodes, 0);
    assert.equal(empty.manifest.tasks, 0);
    assert.deepEqual(empty.chunks, []);
  });

  test("the same inputs give the same bytes, into the same folder (cache reused) or a fresh one; nothing is left beside it", () => {
    const first = folderBytes(join(out, "shop"));
    const again = runExport(out, tasksFile);
    assert.equal(again.code, 0, again.stderr);
    const fresh = join(scratch, "fresh");
    const other = runExport(fresh, tasksFile);
    assert.equal(other.code, 0, other.stderr);
    for (const dir of [join(out, "shop"), join(fresh, "shop")]) {
      const second = folderBytes(dir);
      assert.deepEqual([...second.keys()].sort(), [...first.keys()].sort());
      for (const [name, bytes] of first) assert.ok(bytes.equals(second.get(name)!), `${dir}/${name}`);
    }
    assert.deepEqual(readdirSync(out).sort(), [".cache", "empty", "shop"]);
  });

  test("a bad embedder file is one line, exit 1; --out inside the repositories is a usage error", () => {
    const bad = join(scratch, "bad.gguf");
    writeFileSync(bad, "not a model\n");
    const failed = hef(["export", repos, "--out", join(scratch, "bad-out"), "--embedder", bad]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /bad\.gguf: /);
    assert.equal(failed.stderr.trim().split("\n").length, 1, failed.stderr);
    const inside = hef(["export", repos, "--out", join(repos, "shop", "export")]);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /inside/);
  });
});
