// The layout's one rule, checked: the extension owns the editor and the sidecar owns the models and
// caches; they meet only in common/ (the protocol and what both sides deliberately share), and
// common/ depends on neither. One tsconfig per side cannot hold this by itself: an import of the
// other side's file compiles anyway.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, test } from "node:test";

const PARTS = ["extension", "sidecar", "common"] as const;
type Part = (typeof PARTS)[number];
const MAY_IMPORT: Record<Part, readonly Part[]> = { extension: ["extension", "common"], sidecar: ["sidecar", "common"], common: ["common"] };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|cts)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Module specifiers of import/export ... from, import(), require(). */
function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!);
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
    assert.deepEqual(specifiers('import { a } from "../sidecar/x";\nexport { b } from "./y";\nconst c = await import("../z");\nimport "vscode";'), ["../sidecar/x", "./y", "../z", "vscode"]);
    assert.equal(partOf("sidecar/cache/x.ts"), "sidecar");
  });
});
