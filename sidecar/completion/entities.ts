/**
 * Entity pre-parsing (paper 3.8): the decoder cannot rebuild rare identifiers from fused vectors, so the names of
 * user-defined entities near the retrieved nodes are listed in the prompt (up to 64 tokens). Names come from a
 * walk of each file's syntax tree with the chunker's grammars. "Qualified" means qualified within the file
 * (Class.method, Outer.Inner, Type.Method for Go methods): that is how code refers to them, and package or
 * module paths would spend the small budget on what the import lines already show.
 */
import type { Node, Parser as ParserType } from "web-tree-sitter";
import type { RetrievedNode } from "../cache/retrieval";
import { contentHash } from "../cache/chunking/chunk";
import { IDENTIFIER, languageForPath, type LanguageId } from "../languages";
import { initRuntime, loadGrammarSync, Parser } from "../cache/chunking/parser";

export type EntityKind =
  "class" | "interface" | "type" | "enum" | "namespace" | "function" | "method" | "field" | "constant" | "variable";

export interface EntityName {
  name: string;
  /** Qualified within its file: `Cart.add_item`. */
  qualified: string;
  kind: EntityKind;
  path: string;
  /** 1-based line of the definition. */
  line: number;
}

/** Parsers for the chunker's languages, one per language, created on first use. */
export interface LanguageSupport {
  /** The parser for a path, or undefined where there is no grammar (or it failed to load). */
  parserFor(path: string): { parser: ParserType; language: LanguageId } | undefined;
  dispose(): void;
}

export async function createLanguageSupport(wasmDir?: string): Promise<LanguageSupport> {
  await initRuntime(wasmDir);
  const parsers = new Map<LanguageId, ParserType | undefined>();
  return {
    parserFor(path) {
      const spec = languageForPath(path);
      if (!spec) return undefined;
      if (!parsers.has(spec.id)) {
        try {
          const parser = new Parser();
          parser.setLanguage(loadGrammarSync(spec, wasmDir));
          parsers.set(spec.id, parser);
        } catch {
          parsers.set(spec.id, undefined); // no grammar: no entities for this language, as for unknown files
        }
      }
      const parser = parsers.get(spec.id);
      return parser ? { parser, language: spec.id } : undefined;
    },
    dispose() {
      for (const parser of parsers.values()) parser?.delete();
      parsers.clear();
    },
  };
}

/** Files larger than this (generated or minified code) are not walked. */
const MAX_FILE_CHARS = 1 << 20;

/** The user-defined entities of one file, in file order; none for files without a grammar or a parse. */
export function extractEntities(path: string, text: string, support: LanguageSupport): EntityName[] {
  const found = support.parserFor(path);
  if (!found || text.length > MAX_FILE_CHARS) return [];
  const tree = found.parser.parse(text);
  if (!tree) return [];
  try {
    const out: EntityName[] = [];
    const add = (nameNode: Node | null, kind: EntityKind, scope: string): string | undefined => {
      if (!nameNode) return undefined;
      const name = nameNode.text;
      const qualified = scope === "" ? name : `${scope}.${name}`;
      out.push({ name, qualified, kind, path, line: nameNode.startPosition.row + 1 });
      return qualified;
    };
    WALKERS[found.language](tree.rootNode, "", add);
    return out.sort((a, b) => a.line - b.line);
  } finally {
    tree.delete();
  }
}

/** Records an entity and returns its qualified name (the scope of what it contains). */
type Add = (nameNode: Node | null, kind: EntityKind, scope: string) => string | undefined;
type Walker = (node: Node, scope: string, add: Add, inClass?: boolean) => void;

const name = (node: Node) => node.childForFieldName("name");
/** childrenForFieldName also returns the commas between the nodes of a repeated field. */
const namedField = (node: Node, field: string) => node.childrenForFieldName(field).filter((child) => child.isNamed);

function constantOrVariable(text: string): EntityKind {
  return /^[A-Z][A-Z0-9_]*$/.test(text) ? "constant" : "variable";
}

/** Python: classes, their methods and attributes, module-level functions and assignments; not locals. */
const walkPython: Walker = (node, scope, add, inClass = false) => {
  for (const child of node.namedChildren) {
    switch (child.type) {
      case "class_definition": {
        const qualified = add(name(child), "class", scope);
        const body = child.childForFieldName("body");
        if (qualified && body) walkPython(body, qualified, add, true);
        break;
      }
      case "function_definition":
        add(name(child), inClass ? "method" : "function", scope);
        break;
      case "decorated_definition":
      case "block":
      case "if_statement":
      case "elif_clause":
      case "else_clause":
      case "try_statement":
      case "except_clause":
      case "finally_clause":
      case "with_statement":
        walkPython(child, scope, add, inClass);
        break;
      case "expression_statement": {
        const assignment = child.namedChildren[0];
        const left = assignment?.type === "assignment" ? assignment.childForFieldName("left") : null;
        const targets = left?.type === "identifier" ? [left] : left?.type === "pattern_list" ? left.namedChildren : [];
        for (const target of targets) {
          if (target.type === "identifier") add(target, inClass ? "field" : constantOrVariable(target.text), scope);
        }
        break;
      }
    }
  }
};

/** JavaScript, TypeScript, TSX: declarations at module and namespace level, class members, top-level consts. */
const walkJs: Walker = (node, scope, add, inClass = false) => {
  for (const child of node.namedChildren) {
    switch (child.type) {
      case "function_declaration":
      case "generator_function_declaration":
      case "function_signature":
        add(name(child), "function", scope);
        break;
      case "class_declaration":
      case "abstract_class_declaration":
      case "class": {
        const qualified = add(name(child), "class", scope);
        const body = child.childForFieldName("body");
        if (qualified && body) walkJs(body, qualified, add, true);
        break;
      }
      case "method_definition":
      case "method_signature":
      case "abstract_method_signature":
        if (inClass && name(child)?.text !== "constructor") add(name(child), "method", scope);
        break;
      case "public_field_definition":
      case "field_definition":
        if (inClass) add(name(child) ?? child.childForFieldName("property"), "field", scope);
        break;
      case "interface_declaration":
        add(name(child), "interface", scope);
        break;
      case "type_alias_declaration":
        add(name(child), "type", scope);
        break;
      case "enum_declaration":
        add(name(child), "enum", scope);
        break;
      case "internal_module":
      case "module": {
        // `declare module "pkg" {...}` declares what a package exports: its names are not qualified by it.
        const qualified = name(child)?.type === "string" ? scope : add(name(child), "namespace", scope);
        const body = child.childForFieldName("body");
        if (qualified !== undefined && body) walkJs(body, qualified, add);
        break;
      }
      case "lexical_declaration":
      case "variable_declaration":
        for (const declarator of child.namedChildren) {
          const target = name(declarator);
          if (declarator.type !== "variable_declarator" || target?.type !== "identifier") continue;
          const value = declarator.childForFieldName("value")?.type ?? "";
          const kind =
            value === "class" ? "class" : value.includes("function") ? "function" : constantOrVariable(target.text);
          add(target, kind, scope);
        }
        break;
      case "export_statement":
      case "ambient_declaration":
      case "expression_statement":
      case "statement_block":
        walkJs(child, scope, add, inClass);
        break;
    }
  }
};

/** Java: types (nested too), their methods, fields and enum constants. */
const walkJava: Walker = (node, scope, add) => {
  for (const child of node.namedChildren) {
    switch (child.type) {
      case "class_declaration":
      case "interface_declaration":
      case "enum_declaration":
      case "record_declaration":
      case "annotation_type_declaration": {
        const kind =
          child.type === "interface_declaration" || child.type === "annotation_type_declaration"
            ? "interface"
            : child.type === "enum_declaration"
              ? "enum"
              : "class";
        const qualified = add(name(child), kind, scope);
        const body = child.childForFieldName("body");
        if (qualified && body) walkJava(body, qualified, add);
        break;
      }
      case "method_declaration":
        add(name(child), "method", scope);
        break;
      case "field_declaration":
      case "constant_declaration": {
        const modifiers = child.namedChildren.find((c) => c.type === "modifiers")?.text ?? "";
        const constant =
          child.type === "constant_declaration" || (/\bstatic\b/.test(modifiers) && /\bfinal\b/.test(modifiers));
        for (const declarator of namedField(child, "declarator"))
          add(name(declarator), constant ? "constant" : "field", scope);
        break;
      }
      case "enum_constant":
        add(name(child), "constant", scope);
        break;
      case "enum_body_declarations":
        walkJava(child, scope, add);
        break;
    }
  }
};

/** Go: functions, methods as Receiver.Method, types, package-level consts and vars. */
const walkGo: Walker = (node, scope, add) => {
  for (const child of node.namedChildren) {
    switch (child.type) {
      case "function_declaration":
        add(name(child), "function", scope);
        break;
      case "method_declaration":
        add(name(child), "method", receiverType(child) ?? scope);
        break;
      case "type_declaration":
        for (const spec of child.namedChildren)
          if (spec.type === "type_spec" || spec.type === "type_alias") add(name(spec), "type", scope);
        break;
      case "const_declaration":
      case "var_declaration":
        for (const spec of child.namedChildren) {
          for (const id of namedField(spec, "name"))
            add(id, child.type === "const_declaration" ? "constant" : "variable", scope);
        }
        break;
    }
  }
};

/** `func (t *T[K]) M()` -> "T". */
function receiverType(method: Node): string | undefined {
  let type = method.childForFieldName("receiver")?.namedChildren[0]?.childForFieldName("type") ?? null;
  while (type && type.type !== "type_identifier") {
    type =
      type.type === "pointer_type"
        ? (type.namedChildren[0] ?? null)
        : type.type === "generic_type"
          ? type.childForFieldName("type")
          : null;
  }
  return type?.text;
}

const WALKERS: Record<LanguageId, Walker> = {
  python: walkPython,
  javascript: walkJs,
  typescript: walkJs,
  tsx: walkJs,
  java: walkJava,
  go: walkGo,
};

/**
 * Entities defined inside the retrieved nodes' spans, nodes in rank order, each span's entities in file
 * order; duplicates keep their best rank. A span without lines covers its whole file. Directory spans
 * (module and repository nodes) add nothing: they cover too much to say which of their names matter.
 */
export function rankEntities(
  files: ReadonlyMap<string, readonly EntityName[]>,
  nodes: readonly RetrievedNode[],
): EntityName[] {
  const ranked = new Map<string, EntityName>();
  for (const node of nodes) {
    for (const span of node.spans) {
      for (const entity of files.get(span.path) ?? []) {
        const inside =
          (span.startLine ?? 0) <= entity.line && entity.line <= (span.endLine ?? Number.POSITIVE_INFINITY);
        if (inside && !ranked.has(entity.qualified)) ranked.set(entity.qualified, entity);
      }
    }
  }
  return [...ranked.values()];
}

export interface SelectOptions {
  /** Text the model already sees (the prefix window): entities whose name occurs in it as an identifier are skipped. */
  exclude?: string;
  /** Tokens of the names and their ", " separators at most (default 64); the prompt's own cap on the whole line is exact. */
  budget?: number;
}

/**
 * Qualified names to list, from candidates in order of preference: deduplicated, those the model already sees
 * skipped, and as many as fit the budget (a long name that does not fit does not stop shorter later ones).
 */
export function selectEntities(
  candidates: readonly EntityName[],
  tokenCount: (text: string) => number,
  options: SelectOptions = {},
): string[] {
  const visible = new Set(options.exclude?.match(IDENTIFIER) ?? []);
  let left = options.budget ?? 64;
  const chosen = new Set<string>();
  for (const entity of candidates) {
    if (chosen.has(entity.qualified) || visible.has(entity.name)) continue;
    const cost = tokenCount(entity.qualified) + (chosen.size > 0 ? 1 : 0);
    if (cost > left) continue;
    chosen.add(entity.qualified);
    left -= cost;
  }
  return [...chosen];
}

/** Per-file entity lists of a repository, refreshed file by file with the texts the caller reads. */
export class EntityIndex {
  private readonly entities = new Map<string, readonly EntityName[]>();
  private readonly hashes = new Map<string, string>();

  constructor(private readonly support: LanguageSupport) {}

  /** One file's entities after it was added or changed; an unchanged text is not parsed again. */
  refresh(path: string, text: string): readonly EntityName[] {
    const hash = contentHash(text);
    const known = this.entities.get(path);
    if (known && this.hashes.get(path) === hash) return known;
    const entities = extractEntities(path, text, this.support);
    this.entities.set(path, entities);
    this.hashes.set(path, hash);
    return entities;
  }

  remove(path: string): void {
    this.entities.delete(path);
    this.hashes.delete(path);
  }

  /** Entity lists by path, for rankEntities. */
  get files(): ReadonlyMap<string, readonly EntityName[]> {
    return this.entities;
  }
}
