// Learns byte-level BPE merges for code from a fixed corpus of source files in pinned installed packages,
// pre-tokenized like llama.cpp's "qwen2" pre-tokenizer. Deterministic: same corpus, same merges.
//
//   node --import tsx scripts/train-code-bpe.ts [--merges 8000] [--out sidecar/syntheticModels/data/code-bpe-merges.txt]
//
// Needs git (to read the Python in node-llama-cpp's llama.cpp source bundle).
//
// Writes the merges ("left right" per line, GPT-2 byte-unicode token text), a .json beside them
// describing the corpus (package versions, file count, bytes, sha256) and the resulting compression.
// sidecar/syntheticModels/vocab.ts reads the merges at run time: only tests and benchmarks make models.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { BYTE_TO_UNICODE, pretokenize } from "../sidecar/syntheticModels/bpe";

interface CorpusSource {
  readonly packageDir: string;
  /** A folder of the package, or a git bundle in it (read from its HEAD commit with git). */
  readonly under: string;
  readonly kind: "dir" | "git-bundle";
  readonly suffix: string;
}

/**
 * The corpus: real code shipped in packages pinned by package-lock.json. Python is scarce in
 * node_modules, so llama.cpp's own Python (inside node-llama-cpp's pinned source bundle) joins it.
 */
const SOURCES: readonly CorpusSource[] = [
  { packageDir: "node_modules/typescript", under: "lib", kind: "dir", suffix: ".d.ts" },
  { packageDir: "node_modules/node-llama-cpp", under: "dist", kind: "dir", suffix: ".js" },
  { packageDir: "node_modules/usearch", under: ".", kind: "dir", suffix: ".py" },
  { packageDir: "node_modules/node-llama-cpp", under: "llama/gitRelease.bundle", kind: "git-bundle", suffix: ".py" },
];

interface CorpusFile {
  /** Stable name, relative to the repository root (bundle files as <bundle>:<path>). */
  readonly name: string;
  readonly text: string;
}

function readSource(root: string, source: CorpusSource, commits: Record<string, string>): CorpusFile[] {
  const base = join(root, source.packageDir, source.under);
  if (source.kind === "dir") {
    return listFiles(base, source.suffix).map((file) => ({
      name: relative(root, file),
      text: readFileSync(file, "utf8"),
    }));
  }
  const tmp = mkdtempSync(join(tmpdir(), "hef-bpe-"));
  try {
    const git = (...args: string[]): string =>
      execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    git("clone", "-q", "--no-checkout", base, tmp);
    git("-C", tmp, "checkout", "-q", "HEAD", "--", `*${source.suffix}`);
    commits[relative(root, base)] = git("-C", tmp, "rev-parse", "HEAD").trim();
    return listFiles(tmp, source.suffix).map((file) => ({
      name: `${relative(root, base)}:${relative(tmp, file)}`,
      text: readFileSync(file, "utf8"),
    }));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function listFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name === ".git") continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) out.push(...listFiles(path, suffix));
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}

function packageVersion(packageDir: string): string {
  return (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }).version;
}

interface Word {
  syms: number[];
  readonly count: number;
}

/** Max-heap of [count, pairKey]; ties go to the smaller key so training is deterministic. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] | undefined {
    if (this.counts.length === 0) return undefined;
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.above(l, best)) best = l;
        if (r < this.counts.length && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

const KEY_BASE = 65536;
const pairKey = (a: number, b: number): number => a * KEY_BASE + b;

export interface TrainResult {
  readonly merges: [string, string][];
  readonly bytes: number;
  readonly tokens: number;
}

/** Trains `mergeCount` merges over the pieces of `texts`. */
export function trainBpe(texts: Iterable<string>, mergeCount: number): TrainResult {
  if (256 + mergeCount >= KEY_BASE) throw new Error("too many merges for the pair key encoding");
  const pieceCounts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of pretokenize(text)) pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + 1);
  }
  const words: Word[] = [];
  let bytes = 0;
  for (const piece of [...pieceCounts.keys()].sort()) {
    const syms = [...Buffer.from(piece, "utf8")];
    const count = pieceCounts.get(piece)!;
    bytes += syms.length * count;
    words.push({ syms, count });
  }

  const tokenText: string[] = [...BYTE_TO_UNICODE];
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const index = (key: number, w: number): void => {
    let set = pairWords.get(key);
    if (!set) pairWords.set(key, (set = new Set()));
    set.add(w);
  };
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.syms.length; i++) {
      const key = pairKey(word.syms[i]!, word.syms[i + 1]!);
      pairCount.set(key, (pairCount.get(key) ?? 0) + word.count);
      index(key, w);
    }
  });
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: [string, string][] = [];
  while (merges.length < mergeCount) {
    const top = heap.pop();
    if (!top) break;
    const [count, key] = top;
    if (pairCount.get(key) !== count) continue; // stale entry
    if (count < 2) break;
    const a = Math.floor(key / KEY_BASE);
    const b = key % KEY_BASE;
    const id = tokenText.length;
    tokenText.push(tokenText[a]! + tokenText[b]!);
    merges.push([tokenText[a]!, tokenText[b]!]);

    const delta = new Map<number, number>();
    const add = (k: number, d: number): void => void delta.set(k, (delta.get(k) ?? 0) + d);
    for (const w of pairWords.get(key) ?? []) {
      const word = words[w]!;
      const old = word.syms;
      const merged: number[] = [];
      let changed = false;
      for (let i = 0; i < old.length; i++) {
        if (i + 1 < old.length && old[i] === a && old[i + 1] === b) {
          merged.push(id);
          i++;
          changed = true;
        } else {
          merged.push(old[i]!);
        }
      }
      if (!changed) continue;
      for (let i = 0; i + 1 < old.length; i++) add(pairKey(old[i]!, old[i + 1]!), -word.count);
      for (let i = 0; i + 1 < merged.length; i++) {
        const k = pairKey(merged[i]!, merged[i + 1]!);
        add(k, word.count);
        if (merged[i] === id || merged[i + 1] === id) index(k, w);
      }
      word.syms = merged;
    }
    pairWords.delete(key);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const next = (pairCount.get(k) ?? 0) + d;
      if (next > 0) {
        pairCount.set(k, next);
        heap.push(next, k);
      } else {
        pairCount.delete(k);
      }
    }
  }
  let tokens = 0;
  for (const word of words) tokens += word.syms.length * word.count;
  return { merges, bytes, tokens };
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
  };
  const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
  const mergeCount = Number(option("--merges", "8000"));
  const out = resolve(root, option("--out", "sidecar/syntheticModels/data/code-bpe-merges.txt"));

  const started = Date.now();
  const files: CorpusFile[] = [];
  const packages: Record<string, string> = {};
  const commits: Record<string, string> = {};
  for (const source of SOURCES) {
    packages[source.packageDir.replace(/^node_modules\//, "")] = packageVersion(join(root, source.packageDir));
    files.push(...readSource(root, source, commits));
  }
  const hash = createHash("sha256");
  for (const file of files) hash.update(file.name).update("\0").update(file.text).update("\0");
  const result = trainBpe(
    files.map((file) => file.text),
    mergeCount,
  );
  const seconds = (Date.now() - started) / 1000;

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, result.merges.map(([a, b]) => `${a} ${b}\n`).join(""));
  const info = {
    merges: result.merges.length,
    pretokenizer: "qwen2 (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2)",
    corpus: {
      sources: SOURCES.map((s) =>
        `${s.packageDir}/${s.under}${s.kind === "git-bundle" ? ":HEAD:" : "/"}**/*${s.suffix}`.replace("/./", "/"),
      ),
      packages,
      bundleCommits: commits,
      files: files.length,
      bytes: result.bytes,
      sha256: hash.digest("hex"),
    },
    bytesPerTokenOnCorpus: Number((result.bytes / result.tokens).toFixed(3)),
  };
  writeFileSync(out.replace(/\.txt$/, "") + ".json", JSON.stringify(info, null, 2) + "\n");
  console.log(
    `${result.merges.length} merges from ${files.length} files (${(result.bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s; ` +
      `${info.bytesPerTokenOnCorpus} bytes/token on the corpus -> ${relative(root, out)}`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
