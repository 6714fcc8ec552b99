// The "Retrieved nodes" webview: lays out the view the extension posts (extension/panel/view.ts).
// Data is set with textContent only; clicks go back as { type: "open", seq, index }.
(function () {
  const vscode = acquireVsCodeApi();
  const root = document.getElementById("panel");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function figures(title, rows, unit) {
    const section = el("section");
    section.append(el("h2", undefined, title));
    const table = el("table", "figures");
    for (const row of rows) {
      const tr = el("tr");
      tr.append(el("th", undefined, row.label), el("td", undefined, `${row.value.toLocaleString()} ${unit}`));
      table.append(tr);
    }
    section.append(table);
    return section;
  }

  function nodes(view) {
    const section = el("section");
    section.append(el("h2", undefined, `Retrieved nodes (${view.nodes.length}, mode ${view.mode})`));
    const list = el("ol", "nodes");
    view.nodes.forEach((node, index) => {
      const button = el("button", "node");
      button.type = "button";
      // Stable hooks for the real-editor tests (test/e2e), which click a node and check what opens.
      button.dataset.testid = "hef-node";
      button.dataset.path = node.path;
      if (node.lines) button.dataset.line = String(node.lines).split(/[-–]/)[0];
      button.title = node.lines ? `Open ${node.path} at lines ${node.lines}` : `Reveal ${node.path} in the explorer`;
      button.append(
        el("span", `level level-${node.level}`, node.level),
        el("span", "path", node.path),
        el("span", "lines", node.lines),
        el("span", "score", node.score.toFixed(3)),
      );
      button.addEventListener("click", () => vscode.postMessage({ type: "open", seq: view.seq, index }));
      const item = el("li");
      item.append(button);
      list.append(item);
    });
    section.append(list);
    return section;
  }

  function render(view) {
    if (view.kind === "empty") {
      root.replaceChildren(el("p", "empty", view.message));
      return;
    }
    root.replaceChildren(figures("Prompt size", view.prompt, "tokens"), figures("Stage times", view.stages, "ms"), nodes(view));
  }

  window.addEventListener("message", (event) => {
    if (event.data && event.data.type === "show") render(event.data.view);
  });
  vscode.postMessage({ type: "ready" });
})();
