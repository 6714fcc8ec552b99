import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { panelHtml } from "../../extension/panel/html";
import { MODE_NONE, NO_COMPLETION, panelView, READY_NOW, roundMs } from "../../extension/panel/view";
import type { CompletionEvent } from "../../extension/services";
import type { PanelNode } from "../../common/protocol";
import { completeParams, sidecarStatus } from "./fakeEditor";
import { completionResult, NODES } from "./fakeVscode";

const event = (result: CompletionEvent["result"]): CompletionEvent => ({
  params: completeParams(),
  result,
  latencyMs: 120,
});

const panelNode = (fields: Partial<PanelNode> & Pick<PanelNode, "level" | "path" | "spans">): PanelNode => ({
  id: "0123456789abcdef",
  partial: false,
  root: "/repo",
  score: 0.5,
  ...fields,
});

describe("the panel's view of the last completion", () => {
  test("lists each node best score first, file name before its dimmed parent, with the line span", () => {
    const view = panelView(event(completionResult("x", { nodes: [...NODES].reverse() })), 3);
    assert.equal(view.kind, "completion");
    if (view.kind !== "completion") return;
    assert.equal(view.seq, 3);
    assert.equal(view.folder, "repo");
    assert.deepEqual(
      view.nodes.map((n) => [n.index, n.level, n.name, n.parent, n.lines, n.score]),
      [
        [3, "chunk", "cart.py", "shop", "30–48", 0.91],
        [2, "file", "tax.py", "shop", "1–60", 0.8],
        [1, "module", "shop/", "", "", 0.7],
        [0, "repo", "repo/", "", "", 0.5],
      ],
    );
  });

  test("names a repository node after its workspace folder, a module by its last directory", () => {
    const repo = panelNode({ level: "repo", root: "/work/lib-app", path: ".", spans: [{ path: "." }] });
    const module = panelNode({ level: "module", path: "lib/common", spans: [{ path: "lib/common" }] });
    const view = panelView(event(completionResult("x", { nodes: [repo, module] })), 1);
    if (view.kind !== "completion") return assert.fail();
    assert.deepEqual(
      view.nodes.map((n) => [n.name, n.parent, n.path, n.covers]),
      [
        ["lib-app/", "", "./", ""],
        ["common/", "lib", "lib/common/", ""],
      ],
    );
    assert.equal(view.folder, "lib-app");
  });

  test("says which children an intermediate node covers, so its sibling groups read differently", () => {
    const group = (score: number, names: string[]) =>
      panelNode({
        level: "module",
        partial: true,
        path: "lib/common",
        score,
        spans: names.map((n) =>
          n.endsWith("/")
            ? { path: `lib/common/${n.slice(0, -1)}` }
            : { path: `lib/common/${n}`, startLine: 1, endLine: 40 },
        ),
      });
    const nodes = [group(0.6, ["a.ts", "b.ts", "c.ts", "d.ts"]), group(0.7, ["e.ts", "util/"])];
    const view = panelView(event(completionResult("x", { nodes })), 1);
    if (view.kind !== "completion") return assert.fail();
    assert.deepEqual(
      view.nodes.map((n) => [n.partial, n.name, n.covers, n.tag]),
      [
        [true, "common/", "covers e.ts, util/", ""],
        [true, "common/", "covers a.ts, b.ts +2", ""],
      ],
    );
    assert.deepEqual(view.nodes[1]!.covered.slice(0, 2), [
      { name: "a.ts", lines: "1–40", span: 0 },
      { name: "b.ts", lines: "1–40", span: 1 },
    ]);
    assert.deepEqual(view.nodes[0]!.covered[1], { name: "util/", lines: "" }, "a sub-directory has nothing to open");
  });

  test("tags rows that would still read the same with the start of their node ids", () => {
    const twin = (id: string) => panelNode({ id, level: "repo", partial: true, path: ".", spans: [{ path: "." }] });
    const view = panelView(event(completionResult("x", { nodes: [twin("aaaaaa11"), twin("bbbbbb22"), NODES[0]!] })), 1);
    if (view.kind !== "completion") return assert.fail();
    assert.deepEqual(
      view.nodes.map((n) => n.tag),
      ["", "#aaaaaa", "#bbbbbb"],
    );
  });

  test("times each stage and the round trip: whole milliseconds from 10 ms, one decimal below", () => {
    const timings = { queryEmbed: 4.2871, search: 0.0349, projection: 2, prefill: 30.456, decode: 59.5, total: 97.123 };
    const view = panelView({ ...event(completionResult("x", { timings })), latencyMs: 120.777 }, 1);
    assert.equal(view.kind, "completion");
    if (view.kind !== "completion") return;
    assert.deepEqual(
      view.stages.map((s) => [s.label, s.value]),
      [
        ["Query embedding", 4.3],
        ["Search", 0],
        ["Projection", 2],
        ["Prefill", 30],
        ["Decode", 60],
        ["Total (sidecar)", 97],
        ["Round trip (editor)", 121],
      ],
    );
    assert.deepEqual([roundMs(9.96), roundMs(10.4), roundMs(0.05)], [10, 10, 0.1]);
  });

  test("sets the HEF prompt against snippet injection of the same nodes", () => {
    const hef = panelView(event(completionResult("x")), 1);
    assert.equal(hef.kind, "completion");
    if (hef.kind !== "completion") return;
    assert.deepEqual(
      hef.prompt.map((p) => [p.label, p.value]),
      [
        ["Prompt tokens", 120],
        ["Pseudo-tokens", 32],
        ["HEF prompt", 152],
        ["Snippet injection of the same nodes", 2520],
      ],
    );
    const rag = panelView(event(completionResult("x", { mode: "rag", pseudoTokens: 0 })), 1);
    if (rag.kind !== "completion") return assert.fail();
    assert.deepEqual(
      rag.prompt.map((p) => [p.label, p.value]),
      [
        ["Prompt tokens", 120],
        ["Of which injected snippets", 2400],
      ],
    );
  });

  test("counts and lists the names the entity line gave the generator", () => {
    const listed = { entityTokens: 9, entityNames: ["Cart", "Cart.add_item"] };
    const hef = panelView(event(completionResult("x", listed)), 1);
    if (hef.kind !== "completion") return assert.fail();
    assert.deepEqual(hef.names, ["Cart", "Cart.add_item"]);
    assert.deepEqual(
      hef.prompt.slice(0, 3).map((p) => [p.label, p.value]),
      [
        ["Prompt tokens", 120],
        ["Of which listed names", 9],
        ["Pseudo-tokens", 32],
      ],
    );
    const rag = panelView(event(completionResult("x", { ...listed, mode: "rag", pseudoTokens: 0 })), 1);
    if (rag.kind !== "completion") return assert.fail();
    assert.deepEqual(rag.prompt.at(-1), { label: "Of which listed names", value: 9 });
    const without = panelView(event(completionResult("x")), 1);
    if (without.kind !== "completion") return assert.fail();
    assert.deepEqual([without.names, without.prompt.length], [[], 4]);
  });

  test("explains an empty node list: the index is still being built, or empty", () => {
    const none = event(completionResult("x"));
    const indexing = {
      state: "running" as const,
      status: sidecarStatus({ state: "indexing", progress: { phase: "embedding", done: 12, total: 40 } }),
    };
    const view = panelView(none, 1, indexing);
    if (view.kind !== "completion") return assert.fail();
    assert.equal(
      view.note,
      "Nothing to retrieve yet: the index of repo is still being built (embedding 12 of 40). This completion saw the open file only.",
    );
    const empty = panelView(none, 1, { state: "running", status: sidecarStatus({ state: "ready", nodes: 0 }) });
    assert.match(empty.kind === "completion" ? empty.note : "", /^Nothing to retrieve: the index of repo is empty/);
    const full = panelView(event(completionResult("x", { nodes: NODES })), 1, indexing);
    assert.equal(full.kind === "completion" && full.note, "");
  });

  test("says so when there is no completion yet, it was mode none, or the folder was not ready", () => {
    assert.deepEqual(panelView(undefined, 0), { kind: "empty", message: NO_COMPLETION });
    assert.match(NO_COMPLETION, /^No completion yet…/);
    assert.deepEqual(panelView(event(completionResult("x", { mode: "none" })), 1), {
      kind: "empty",
      message: MODE_NONE,
    });
    assert.deepEqual(panelView(event({ kind: "notReady", reason: "the cache of /repo is being built" }), 1), {
      kind: "empty",
      message: "No completion: the cache of /repo is being built",
    });
  });

  test("drops a failure once the sidecar can complete in that folder again", () => {
    const failed = event({ kind: "notReady", reason: "loading the models failed: out of memory" });
    const stale = { kind: "empty", message: "No completion: loading the models failed: out of memory" };
    assert.deepEqual(
      panelView(failed, 1, {
        state: "running",
        status: { ...sidecarStatus({ state: "ready" }), error: "loading the models failed: out of memory" },
      }),
      stale,
    );
    assert.deepEqual(panelView(failed, 1, { state: "starting", status: undefined }), stale);
    assert.deepEqual(
      panelView(failed, 1, { state: "running", status: { ...sidecarStatus({ state: "ready" }), backend: "loading" } }),
      stale,
    );
    assert.deepEqual(
      panelView(failed, 1, { state: "running", status: sidecarStatus({ state: "indexing", files: 0, nodes: 0 }) }),
      stale,
    );
    assert.deepEqual(panelView(failed, 1, { state: "running", status: sidecarStatus({ state: "ready" }) }), {
      kind: "empty",
      message: READY_NOW,
    });
    assert.deepEqual(
      panelView(failed, 1, { state: "running", status: sidecarStatus({ state: "indexing", files: 2 }) }),
      { kind: "empty", message: READY_NOW },
      "a first index serves as it goes",
    );
  });
});

describe("the panel's page", () => {
  const assets = {
    cspSource: "https://file+.vscode-resource.test",
    script: "https://res.test/media/panel.js",
    style: "https://res.test/media/panel.css",
  };
  const html = panelHtml(assets, "n0nce+/=");

  test("has a strict Content-Security-Policy: nothing by default, styles from the extension, scripts by nonce", () => {
    const csp = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)?.[1];
    assert.equal(csp, "default-src 'none'; style-src https://file+.vscode-resource.test; script-src 'nonce-n0nce+/=';");
  });

  test("loads its only script by nonce and its style from media/, with no inline script or handler", () => {
    assert.deepEqual(
      [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]),
      ['<script nonce="n0nce+/=" src="https://res.test/media/panel.js">'],
    );
    assert.match(html, /<link rel="stylesheet" href="https:\/\/res.test\/media\/panel.css">/);
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    assert.doesNotMatch(html, /<script[^>]*>[^<]/);
  });

  test("has the one empty element media/panel.js lays the posted view out in", () => {
    // panelHtml takes no data, so the page cannot hold any; what can go wrong is the page and the script disagreeing.
    const script = readFileSync(join(import.meta.dirname, "..", "..", "media", "panel.js"), "utf8");
    const ids = [...script.matchAll(/getElementById\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.deepEqual(ids, ["panel"], "the script looks up one element");
    assert.deepEqual(
      [...html.matchAll(/<(\w+)[^>]*\sid="([^"]+)"[^>]*>([^<]*)<\/\1>/g)].map((m) => [m[2], m[3]]),
      [["panel", ""]],
    );
  });
});
