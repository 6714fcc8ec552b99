// Python as the product's own chunker parses it (tree-sitter-python through web-tree-sitter, both in
// the project's node_modules): the ghost-text scenario's check that an accepted completion is real
// code, not just some text.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { Language, Parser } from "web-tree-sitter";

const require = createRequire(import.meta.url);
let parser;

async function pythonParser() {
  if (!parser) {
    await Parser.init();
    const wasm = require.resolve("tree-sitter-python/tree-sitter-python.wasm");
    const language = await Language.load(readFileSync(wasm));
    parser = new Parser();
    parser.setLanguage(language);
  }
  return parser;
}

/** The syntax errors of `text` as Python: [] when it parses (ERROR and MISSING nodes, with their rows). */
export async function pythonSyntaxErrors(text) {
  const tree = (await pythonParser()).parse(text);
  const errors = [];
  const visit = (node) => {
    if (node.type === "ERROR" || node.isMissing)
      errors.push(`${node.isMissing ? "missing" : "error"} at line ${node.startPosition.row + 1}`);
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  tree.delete();
  return errors;
}

/** Names of the functions, methods and classes `text` defines. */
export async function pythonDefinitions(text) {
  const tree = (await pythonParser()).parse(text);
  const names = new Set();
  const visit = (node) => {
    if (node.type === "function_definition" || node.type === "class_definition") {
      const name = node.childForFieldName("name");
      if (name) names.add(name.text);
    }
    for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  tree.delete();
  return names;
}
