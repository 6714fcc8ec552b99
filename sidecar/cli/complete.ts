// `hef complete <dir> --file <path> --line <n>`: one completion at the start of a line, with the
// retrieved nodes and the time of each stage.
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { defaultCacheDir } from "../cache/cacheLocation";
import { loadEngine } from "../completion/engine";
import type { CompletionResult } from "../completion/types";
import {
  backendOf,
  directory,
  modelPaths,
  modesOf,
  optionalPositiveInt,
  positiveInt,
  UsageError,
  type Values,
} from "./args";
import { syncWithProgress } from "./progressBar";

/** The text before and after the cursor placed at the start of 1-based line `line`. */
export function splitAtLine(text: string, line: number, file: string): { prefix: string; suffix: string } {
  const lines = text.split("\n");
  if (line > lines.length) throw new UsageError(`${file} has ${lines.length} lines, --line ${line} is past its end`);
  const prefix = lines
    .slice(0, line - 1)
    .map((l) => `${l}\n`)
    .join("");
  return { prefix, suffix: text.slice(prefix.length) };
}

function formatResult(result: CompletionResult): string {
  const t = result.timings;
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  return [
    result.text,
    "---",
    `mode ${result.mode}: ${result.promptTokens} prompt tokens + ${result.pseudoTokens} pseudo-tokens` +
      (result.contextTokens ? ` (raw context ${result.contextTokens} tokens)` : "") +
      `, ${result.generatedTokens} generated (${result.stopReason}), ${result.reused} positions reused`,
    ...(result.entityNames.length > 0
      ? [`names listed (${result.entityTokens} tokens): ${result.entityNames.join(", ")}`]
      : []),
    `query embedding ${ms(t.queryEmbed)}, search ${ms(t.search)}, projection ${ms(t.projection)}, ` +
      `prefill ${ms(t.prefill)}, decode ${ms(t.decode)}, total ${ms(t.total)}`,
  ].join("\n");
}

export async function runComplete(dir: string, values: Values): Promise<void> {
  if (!values.file || !values.line) throw new UsageError("complete needs --file <path> and --line <n>");
  const root = directory(dir);
  const [mode, ...more] = modesOf(values, ["hef"]);
  if (more.length > 0) throw new UsageError("complete takes one --mode");
  const file = resolve(root, values.file);
  const { prefix, suffix } = splitAtLine(readFileSync(file, "utf8"), positiveInt(values.line, "line", 1), values.file);
  const engine = await loadEngine({ ...modelPaths(values), backend: backendOf(values) });
  try {
    const cache = await engine.openRepository(root, {
      cacheDir: values["cache-dir"] ? resolve(values["cache-dir"]) : defaultCacheDir(root),
      ...(values.exclude ? { exclude: values.exclude } : {}),
    });
    await syncWithProgress(cache);
    await cache.save();
    const k = optionalPositiveInt(values.k, "k");
    const maxTokens = optionalPositiveInt(values["max-tokens"], "max-tokens");
    const ragBudget = optionalPositiveInt(values["rag-budget"], "rag-budget");
    const result = await engine.complete(cache, {
      path: relative(root, file).split("\\").join("/"),
      prefix,
      suffix,
      mode: mode!,
      singleLine: !(values.multiline ?? false),
      fim: !(values["no-fim"] ?? false),
      entities: values.entities ?? false,
      ...(k !== undefined ? { k } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(ragBudget !== undefined ? { ragBudget } : {}),
    });
    const { text, ...rest } = result;
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ file: values.file, line: Number(values.line), completion: text, ...rest })}\n`
        : `${formatResult(result)}\n`,
    );
  } finally {
    await engine.dispose();
  }
}
