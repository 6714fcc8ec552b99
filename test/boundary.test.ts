// The layout's one rule, checked: the extension owns the editor and the sidecar owns the models and
// caches; they meet only in common/ (the protocol and what both sides deliberately share), and
// common/ depends on neither. One tsconfig per side cannot hold this by itself: an import of the
// other side's file compiles anyway.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, test } from "node:test";

const PARTS = ["extension", "sidecar", "common"] as const;
type Part = (typeof PARTS)[number];
const MAY_IMPORT: Record<Part, readonly Part[]> = {
  extension: ["extension", "common"],
  sidecar: ["sidecar", "common"],
  common: ["common"],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|cts)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Module specifiers of import/export ... from, import(), require(). */
function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)["']([^"']+)["']/gm)].map(
    (m) => m[1]!,
  );
}

function partOf(file: string): Part | "other" {
  const top = normalize(file).split(/[\\/]/)[0];
  return (PARTS as readonly string[]).includes(top!) ? (top as Part) : "other";
}

describe("the boundary between editor and engine", () => {
  test("each part imports only itself and common/; only the extension imports vscode", () => {
    const crossings: string[] = [];
    for (const part of PARTS) {
      for (const file of sources(part)) {
        for (const spec of specifiers(readFileSync(file, "utf8"))) {
          if (spec === "vscode" && part !== "extension") crossings.push(`${file} imports vscode`);
          if (!spec.startsWith(".")) continue;
          const target = partOf(relative(".", join(dirname(file), spec)));
          // package.json is read for the settings' defaults, written once there.
          if (target === "other" && spec.endsWith("package.json")) continue;
          if (target === "other" || !MAY_IMPORT[part].includes(target)) crossings.push(`${file} imports ${spec}`);
        }
      }
    }
    assert.deepEqual(crossings, []);
  });

  test("the check sees an import across the line", () => {
    assert.deepEqual(
      specifiers(
        'import { a } from "../sidecar/x";\nexport { b } from "./y";\nconst c = await import("../z");\nimport "vscode";',
      ),
      ["../sidecar/x", "./y", "../z", "vscode"],
    );
    assert.equal(partOf("sidecar/cache/x.ts"), "sidecar");
  });
});

/** Relative modules a file loads when it is loaded: static imports and re-exports, not `import type` nor import(). */
function staticImports(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^"';]*?\s+from\s+)?["'](\.[^"']+)["']/gm)].map(
    (m) => m[1]!,
  );
}

/** Every source file loaded, directly or not, when `entry` is (repository-relative paths). */
function moduleGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(readFileSync(file, "utf8"))) {
      const base = relative(".", join(dirname(file), spec));
      const target = [`${base}.ts`, join(base, "index.ts"), base].find(
        (path) => existsSync(path) && /\.ts$/.test(path),
      );
      if (target) visit(target);
    }
  };
  visit(entry);
  return seen;
}

// The product (the engine, the language server, the hef command) loads trained models; the models the
// project writes itself for tests and benchmarks (GGUF writer, BPE merges, random weights) stay out of
// what it loads. A command that needs them imports them lazily (import()).
const FACTORY = join("sidecar", "syntheticModels");
const PRODUCT_ENTRIES = [
  join("sidecar", "completion", "engine.ts"),
  join("sidecar", "server", "main.ts"),
  join("sidecar", "cli", "hef.ts"),
];

describe("the product and the synthetic-model factory", () => {
  for (const entry of PRODUCT_ENTRIES) {
    test(`${entry} loads nothing of ${FACTORY}/`, () => {
      const graph = moduleGraph(entry);
      assert.ok(graph.size > 10, `the walk found the modules ${entry} loads (${graph.size})`);
      assert.deepEqual(
        [...graph].filter((file) => file.startsWith(FACTORY)),
        [],
      );
    });
  }

  test("the walk follows static imports and re-exports, not type imports or import()", () => {
    assert.deepEqual(
      staticImports(
        'import { a } from "./a";\nimport type { B } from "./b";\nexport { c } from "./c";\nimport "./d";\nconst e = await import("./e");\nimport x from "node:fs";',
      ),
      ["./a", "./c", "./d"],
    );
    assert.ok(
      moduleGraph(join("sidecar", "syntheticModels", "generatedModels.ts")).has(
        join("sidecar", "syntheticModels", "gguf", "writer.ts"),
      ),
    );
  });
});
