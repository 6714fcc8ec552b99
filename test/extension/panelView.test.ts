import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { panelHtml } from "../../extension/panel/html";
import { MODE_NONE, NO_COMPLETION, panelView } from "../../extension/panel/view";
import type { CompletionEvent } from "../../extension/services";
import { completionResult, NODES } from "./fakeVscode";

const event = (result: CompletionEvent["result"]): CompletionEvent => ({
  params: { root: "/repo", path: "/repo/shop/cart.py", prefix: "", suffix: "", mode: "hef", k: 32, maxTokens: 64, singleLine: true, force: false },
  result,
  latencyMs: 120,
});

describe("the panel's view of the last completion", () => {
  test("lists each node's level, path, lines and score", () => {
    const view = panelView(event(completionResult("x", { nodes: NODES })), 3);
    assert.equal(view.kind, "completion");
    if (view.kind !== "completion") return;
    assert.equal(view.seq, 3);
    assert.deepEqual(view.nodes, [
      { level: "chunk", path: "shop/cart.py", lines: "30–48", score: 0.91 },
      { level: "file", path: "shop/tax.py", lines: "1–60", score: 0.8 },
      { level: "module", path: "shop/", lines: "", score: 0.7 },
      { level: "repo", path: "/", lines: "", score: 0.5 },
    ]);
  });

  test("times each stage and the round trip", () => {
    const view = panelView(event(completionResult("x")), 1);
    assert.equal(view.kind, "completion");
    if (view.kind !== "completion") return;
    assert.deepEqual(
      view.stages.map((s) => [s.label, s.value]),
      [["Query embedding", 4], ["Search", 1], ["Projection", 2], ["Prefill", 30], ["Decode", 60], ["Total (sidecar)", 97], ["Round trip (editor)", 120]],
    );
  });

  test("sets the HEF prompt against snippet injection of the same nodes", () => {
    const hef = panelView(event(completionResult("x")), 1);
    assert.equal(hef.kind, "completion");
    if (hef.kind !== "completion") return;
    assert.deepEqual(
      hef.prompt.map((p) => [p.label, p.value]),
      [["Prompt tokens", 120], ["Pseudo-tokens", 32], ["HEF prompt", 152], ["Snippet injection of the same nodes", 2520]],
    );
    const rag = panelView(event(completionResult("x", { mode: "rag", pseudoTokens: 0 })), 1);
    if (rag.kind !== "completion") return assert.fail();
    assert.deepEqual(rag.prompt.map((p) => [p.label, p.value]), [["Prompt tokens", 120], ["Of which injected snippets", 2400]]);
  });

  test("says so when there is no completion yet, it was mode none, or the folder was not ready", () => {
    assert.deepEqual(panelView(undefined, 0), { kind: "empty", message: NO_COMPLETION });
    assert.match(NO_COMPLETION, /^No completion yet…/);
    assert.deepEqual(panelView(event(completionResult("x", { mode: "none" })), 1), { kind: "empty", message: MODE_NONE });
    assert.deepEqual(panelView(event({ kind: "notReady", reason: "the cache of /repo is being built" }), 1), {
      kind: "empty",
      message: "No completion: the cache of /repo is being built",
    });
  });
});

describe("the panel's page", () => {
  const assets = { cspSource: "https://file+.vscode-resource.test", script: "https://res.test/media/panel.js", style: "https://res.test/media/panel.css" };
  const html = panelHtml(assets, "n0nce+/=");

  test("has a strict Content-Security-Policy: nothing by default, styles from the extension, scripts by nonce", () => {
    const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)?.[1];
    assert.equal(csp, "default-src 'none'; style-src https://file+.vscode-resource.test; script-src 'nonce-n0nce+/=';");
  });

  test("loads its only script by nonce and its style from media/, with no inline script or handler", () => {
    assert.deepEqual([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), ['<script nonce="n0nce+/=" src="https://res.test/media/panel.js">']);
    assert.match(html, /<link rel="stylesheet" href="https:\/\/res.test\/media\/panel.css">/);
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    assert.doesNotMatch(html, /<script[^>]*>[^<]/);
  });

  test("holds no completion data: that arrives by message", () => {
    assert.doesNotMatch(html, /cart\.py|score|Prefill/);
    assert.match(html, /<main id="panel"><\/main>/);
  });
});
