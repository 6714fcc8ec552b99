// `hef tasks <repos-dir> --out <tasks.jsonl>`: line-completion tasks in the RepoEval format from the
// repositories' own files (taskBuilder.ts), on exactly the files the index reads, for `hef eval`
// and `hef export`.
import { join, resolve } from "node:path";
import { readSourceFile, walkSourceFiles } from "../cache/discovery";
import type { DiscoveryOptions } from "../../common/pathFilter";
import { createLanguageSupport, type EntityName, extractEntities, type LanguageSupport } from "../completion/entities";
import type { DefinitionSite } from "../eval/definitionReach";
import { API_KINDS, buildRepoTasks, type RepoFile } from "../eval/taskBuilder";
import { writeFileAtomic } from "../util/atomicWrite";
import { directory, discoveryOf, nonNegativeInt, positiveInt, repositories, UsageError, type Values } from "./args";

interface RepoCount {
  repo: string;
  files: number;
  candidates: number;
  tasks: number;
}

/** The files the index would hold, with their text as it reads them; unreadable ones are left out as it leaves them out. */
export async function readRepository(root: string, discovery: DiscoveryOptions = {}): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
  for (const path of (await walkSourceFiles(root, discovery)).files) {
    const read = await readSourceFile(root, path, discovery);
    if (read.ok) files.push({ path, text: read.text });
  }
  return files;
}

/** The API entities (what a cross-file task may use) of each file with a grammar. */
function apiEntities(files: readonly RepoFile[], support: LanguageSupport): Map<string, EntityName[]> {
  const parsed = files.filter((file) => support.parserFor(file.path) !== undefined);
  return new Map(
    parsed.map((file) => [
      file.path,
      extractEntities(file.path, file.text, support).filter((e) => API_KINDS.has(e.kind)),
    ]),
  );
}

/** The names each file with a grammar defines. */
function definitionsOf(files: readonly RepoFile[], support: LanguageSupport): Map<string, string[]> {
  return new Map([...apiEntities(files, support)].map(([path, entities]) => [path, entities.map((e) => e.name)]));
}

/** Where each name a cross-file task may use is defined: the sites definitionReach looks for. */
export function definitionSites(files: readonly RepoFile[], support: LanguageSupport): Map<string, DefinitionSite[]> {
  const sites = new Map<string, DefinitionSite[]>();
  for (const entities of apiEntities(files, support).values())
    for (const { name, path, line } of entities) sites.set(name, [...(sites.get(name) ?? []), { path, line }]);
  return sites;
}

/** String literals that span lines (docstrings, template strings): no code to complete inside them. */
const STRING_TYPES = new Set([
  "string",
  "template_string",
  "raw_string_literal",
  "interpreted_string_literal",
  "text_block",
]);

/** 0-based lines of each file with a grammar that lie inside a string literal after its first line. */
function proseLinesOf(files: readonly RepoFile[], support: LanguageSupport): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const file of files) {
    const parser = support.parserFor(file.path)?.parser;
    const tree = parser?.parse(file.text);
    if (!tree) continue;
    const lines = new Set<number>();
    const cursor = tree.walk();
    try {
      for (let more = true; more;) {
        const node = cursor.currentNode;
        const multiline = node.endPosition.row > node.startPosition.row;
        if (multiline && STRING_TYPES.has(node.type)) {
          for (let row = node.startPosition.row + 1; row <= node.endPosition.row; row++) lines.add(row);
        }
        if (multiline && !STRING_TYPES.has(node.type) && cursor.gotoFirstChild()) continue;
        while (!cursor.gotoNextSibling()) {
          if (!cursor.gotoParent()) {
            more = false;
            break;
          }
        }
      }
    } finally {
      tree.delete();
    }
    out.set(file.path, lines);
  }
  return out;
}

function formatCounts(counts: readonly RepoCount[], total: number): string {
  const header = ["repo", "files", "candidates", "tasks"];
  const rows = [
    ...counts.map((c) => [c.repo, String(c.files), String(c.candidates), String(c.tasks)]),
    ["total", "", "", String(total)],
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
    .join("\n");
}

export async function runTasks(reposArg: string, values: Values): Promise<void> {
  if (!values.out) throw new UsageError("tasks needs --out <tasks.jsonl>");
  const reposDir = directory(reposArg);
  const options = {
    seed: nonNegativeInt(values.seed, "seed", 0),
    perFile: positiveInt(values["per-file"], "per-file", 10),
    perRepo: positiveInt(values["per-repo"], "per-repo", 200),
  };
  const discovery = discoveryOf(values);
  const support = values["cross-file"] ? await createLanguageSupport() : undefined;
  const counts: RepoCount[] = [];
  const lines: string[] = [];
  try {
    for (const repo of repositories(reposDir)) {
      const files = await readRepository(join(reposDir, repo), discovery);
      const built = buildRepoTasks(repo, files, {
        ...options,
        ...(support ? { definitions: definitionsOf(files, support), prose: proseLinesOf(files, support) } : {}),
      });
      counts.push({ repo, files: built.files, candidates: built.candidates, tasks: built.tasks.length });
      for (const task of built.tasks) lines.push(`${JSON.stringify(task)}\n`);
    }
  } finally {
    support?.dispose();
  }
  writeFileAtomic(resolve(values.out), lines.join(""));
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ repos: counts, tasks: lines.length })}\n`
      : `${formatCounts(counts, lines.length)}\n`,
  );
}
