// npm run bench:index — indexing throughput, refresh latency and memory, printed as a table.
// Each scenario runs in its own process (bench/indexScenario.ts) so peak RSS is its own.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeShapedModel } from "../sidecar/syntheticModels/generatedModels";
import { shippedModels } from "../sidecar/models/shippedModels";
import { benchRepo, type RepoName } from "./repos";

interface Scenario {
  repo: RepoName;
  model: string;
  label: string;
  refreshes: number;
  prefill: boolean;
}

const models = resolve("bench/out/models");
mkdirSync(models, { recursive: true });
const shipped = shippedModels().embedderPath;
const qwen3 = join(models, "qwen3-embedding-0.6b-q8_0.gguf");
await makeShapedModel("qwen3-embedding-0.6b", qwen3);

const only = process.argv.slice(2);
const allScenarios: Scenario[] = [
  { repo: "small", model: shipped, label: "default (trained, Q8_0)", refreshes: 40, prefill: true },
  { repo: "large", model: shipped, label: "default (trained, Q8_0)", refreshes: 60, prefill: true },
  { repo: "small", model: qwen3, label: "Qwen3-Emb-0.6B Q8_0 shape", refreshes: 6, prefill: true },
];
const scenarios = allScenarios.filter((s) => only.length === 0 || only.some((o) => `${s.repo}:${s.label}`.includes(o)));

const rows: string[][] = [];
for (const scenario of scenarios) {
  const root = benchRepo(scenario.repo);
  process.stderr.write(`running ${scenario.repo} repository with ${scenario.label}...\n`);
  const out = execFileSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/indexScenario.ts",
      root,
      scenario.model,
      String(scenario.refreshes),
      scenario.prefill ? "prefill" : "no",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 },
  );
  const r = JSON.parse(out.trim().split("\n").at(-1)!);
  const ratio = r.prefill ? (r.embedTokensPerSecond / r.prefill.tokensPerSecond).toFixed(2) : "-";
  rows.push([
    scenario.repo,
    scenario.label,
    String(r.files),
    String(r.chunks),
    String(r.nodes),
    `${(r.indexMs / 1000).toFixed(1)} s`,
    r.embedTokensPerSecond.toFixed(0),
    r.prefill ? r.prefill.tokensPerSecond.toFixed(0) : "-",
    ratio,
    `${r.refreshP50.toFixed(0)} / ${r.refreshP95.toFixed(0)} ms (n=${r.refreshes})`,
    `${r.saveMs.toFixed(0)} ms`,
    `${r.peakRssMiB.toFixed(0)} MiB (model ${r.modelMiB.toFixed(0)})`,
  ]);
}

const header = [
  "repo",
  "embedder",
  "files",
  "chunks",
  "nodes",
  "index",
  "embed tok/s",
  "raw prefill tok/s",
  "ratio",
  "refresh p50 / p95",
  "save",
  "peak RSS",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of rows) console.log(line(row));
