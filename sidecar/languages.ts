// What the sidecar knows of programming languages, by file extension: which tree-sitter grammar parses
// a file, which syntax nodes are "units" (functions, methods, classes...) that the syntax chunker keeps
// whole where the token budget allows, and a language's line-comment marker. (Which files are indexed
// at all is common/pathFilter.ts's DEFAULT_EXTENSIONS; which imports name which files, cache/imports.ts.)
import { extensionOf } from "../common/paths";

/** An identifier as the languages here write one (Go and Java's are a subset): for matching names in text. */
export const IDENTIFIER = /[\p{L}_$][\p{L}\p{N}_$]*/gu;

export type LanguageId = "python" | "javascript" | "typescript" | "tsx" | "java" | "go";

export interface LanguageSpec {
  id: LanguageId;
  /** npm package that ships the grammar's wasm, and the wasm file's name inside it (also its name in a wasm directory). */
  wasmPackage: string;
  wasmFile: string;
  /** Lower-case file extensions, with the dot. */
  extensions: readonly string[];
  /** Node types that are semantic units: a chunk of their own when big enough. */
  units: ReadonlySet<string>;
  /**
   * Node types that are units when they hold a unit close below them, e.g. `export function f`,
   * `const f = () => {...}`, `module.exports.f = function () {...}`, `describe("x", () => {...})`.
   */
  wrappers: ReadonlySet<string>;
}

const JS_UNITS = [
  "function_declaration",
  "generator_function_declaration",
  "class_declaration",
  "method_definition",
  "function_expression",
  "function",
  "generator_function",
  "arrow_function",
  "class",
];

const JS_WRAPPERS = [
  "export_statement",
  "lexical_declaration",
  "variable_declaration",
  "variable_declarator",
  "expression_statement",
  "assignment_expression",
  "call_expression",
  "arguments",
  "await_expression",
  "parenthesized_expression",
  "field_definition",
];

const TS_UNITS = [
  ...JS_UNITS,
  "abstract_class_declaration",
  "interface_declaration",
  "enum_declaration",
  "type_alias_declaration",
  "module",
  "internal_module",
  "function_signature",
];

const TS_WRAPPERS = [...JS_WRAPPERS, "ambient_declaration", "public_field_definition"];

export const LANGUAGES: readonly LanguageSpec[] = [
  {
    id: "python",
    wasmPackage: "tree-sitter-python",
    wasmFile: "tree-sitter-python.wasm",
    extensions: [".py", ".pyi", ".pyw"],
    units: new Set(["function_definition", "class_definition", "decorated_definition"]),
    wrappers: new Set(),
  },
  {
    id: "javascript",
    wasmPackage: "tree-sitter-javascript",
    wasmFile: "tree-sitter-javascript.wasm",
    extensions: [".js", ".mjs", ".cjs", ".jsx"],
    units: new Set(JS_UNITS),
    wrappers: new Set(JS_WRAPPERS),
  },
  {
    id: "typescript",
    wasmPackage: "tree-sitter-typescript",
    wasmFile: "tree-sitter-typescript.wasm",
    extensions: [".ts", ".mts", ".cts"],
    units: new Set(TS_UNITS),
    wrappers: new Set(TS_WRAPPERS),
  },
  {
    id: "tsx",
    wasmPackage: "tree-sitter-typescript",
    wasmFile: "tree-sitter-tsx.wasm",
    extensions: [".tsx"],
    units: new Set(TS_UNITS),
    wrappers: new Set(TS_WRAPPERS),
  },
  {
    id: "java",
    wasmPackage: "tree-sitter-java",
    wasmFile: "tree-sitter-java.wasm",
    extensions: [".java"],
    units: new Set([
      "class_declaration",
      "interface_declaration",
      "enum_declaration",
      "record_declaration",
      "annotation_type_declaration",
      "method_declaration",
      "constructor_declaration",
      "compact_constructor_declaration",
      "static_initializer",
    ]),
    wrappers: new Set(),
  },
  {
    id: "go",
    wasmPackage: "tree-sitter-go",
    wasmFile: "tree-sitter-go.wasm",
    extensions: [".go"],
    units: new Set(["function_declaration", "method_declaration", "type_declaration"]),
    wrappers: new Set(),
  },
];

const BY_EXTENSION = new Map<string, LanguageSpec>();
for (const spec of LANGUAGES) for (const ext of spec.extensions) BY_EXTENSION.set(ext, spec);

/** The grammar for a path, by extension; undefined where there is none (the line chunker is used). */
export function languageForPath(path: string): LanguageSpec | undefined {
  return BY_EXTENSION.get(extensionOf(path));
}

/** Node types that are comments in any of the grammars above. */
export function isCommentType(type: string): boolean {
  return type === "comment" || type === "line_comment" || type === "block_comment" || type === "html_comment";
}

const HASH_COMMENT = new Set([
  ".py",
  ".pyi",
  ".pyw",
  ".rb",
  ".sh",
  ".bash",
  ".zsh",
  ".pl",
  ".r",
  ".yaml",
  ".yml",
  ".toml",
  ".cmake",
  ".ps1",
  ".jl",
  ".ex",
  ".exs",
  ".nim",
]);
const DASH_COMMENT = new Set([".sql", ".lua", ".hs", ".elm", ".ada", ".adb"]);
const PERCENT_COMMENT = new Set([".erl", ".tex"]);

/** Line comment marker of a file's language by its extension; `//` for the C family and unknown files. */
export function lineComment(path: string): string {
  const ext = extensionOf(path);
  if (HASH_COMMENT.has(ext)) return "#";
  if (DASH_COMMENT.has(ext)) return "--";
  if (PERCENT_COMMENT.has(ext)) return "%";
  return "//";
}
