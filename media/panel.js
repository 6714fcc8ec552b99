// The "Retrieved nodes" webview: lays out the view the extension posts (extension/panel/view.ts).
// Data is set with textContent only; clicks go back as { type: "open", seq, index[, span] }.
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

  function label(node) {
    const span = el("span", "label");
    span.append(el("span", "name", node.name));
    if (node.parent) span.append(el("span", "parent", node.parent));
    if (node.tag) span.append(el("span", "tag", node.tag));
    if (node.covers) span.append(el("span", "covers", node.covers));
    return span;
  }

  function level(node) {
    const span = el("span", `level level-${node.level}`, node.level);
    if (node.partial) span.append(el("span", "part", "part"));
    return span;
  }

  function open(view, index, span) {
    vscode.postMessage(
      span === undefined ? { type: "open", seq: view.seq, index } : { type: "open", seq: view.seq, index, span },
    );
  }

  /** The files and sub-directories a directory node groups; files open at their lines. */
  function coveredList(view, node) {
    const list = el("ul", "covered");
    list.hidden = true;
    for (const item of node.covered) {
      const li = el("li");
      if (item.span === undefined) {
        li.append(el("span", "covered-dir", item.name));
      } else {
        const button = el("button", "covered-file");
        button.type = "button";
        button.dataset.testid = "hef-covered";
        button.title = `Open ${item.name} at lines ${item.lines}`;
        button.append(el("span", "name", item.name), el("span", "lines", item.lines));
        button.addEventListener("click", () => open(view, node.index, item.span));
        li.append(button);
      }
      list.append(li);
    }
    return list;
  }

  function row(view, node) {
    const item = el("li");
    const button = el("button", "node");
    button.type = "button";
    // Stable hooks for the real-editor tests (test/e2e), which click a node and check what opens.
    button.dataset.testid = "hef-node";
    button.dataset.level = node.level;
    button.dataset.path = node.path;
    if (node.lines) button.dataset.line = String(node.lines).split(/[-–]/)[0];
    button.append(
      level(node),
      label(node),
      el("span", "lines", node.lines),
      el("span", "score", node.score.toFixed(3)),
    );
    item.append(button);
    if (node.lines) {
      button.title = `Open ${node.path} at lines ${node.lines}`;
      button.addEventListener("click", () => open(view, node.index));
    } else if (node.covered.length > 0) {
      // A directory opens nothing itself (the explorer would take the sidebar away from this panel):
      // it unfolds the files it groups, which open.
      const list = coveredList(view, node);
      button.title = `${node.path}: ${node.covers} (click to list them)`;
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", () => {
        list.hidden = !list.hidden;
        button.setAttribute("aria-expanded", String(!list.hidden));
      });
      item.append(list);
    } else {
      button.title = `${node.path}: the whole directory`;
      button.disabled = true;
    }
    return item;
  }

  function nodes(view) {
    const section = el("section");
    section.append(el("h2", undefined, `Retrieved nodes (${view.nodes.length}, mode ${view.mode}) · ${view.folder}`));
    if (view.note) section.append(el("p", "empty", view.note));
    const list = el("ol", "nodes");
    for (const node of view.nodes) list.append(row(view, node));
    section.append(list);
    return section;
  }

  /** The entity line's names (paper 3.8): repository code that shaped the suggestion as text, not as nodes. */
  function names(view) {
    const section = el("section");
    section.append(el("h2", undefined, `Names listed in the prompt (${view.names.length})`));
    section.append(el("p", "names", view.names.join(", ")));
    return section;
  }

  function render(view) {
    if (view.kind === "empty") {
      root.replaceChildren(el("p", "empty", view.message));
      return;
    }
    root.replaceChildren(
      figures("Prompt size", view.prompt, "tokens"),
      figures("Stage times", view.stages, "ms"),
      nodes(view),
      ...(view.names.length > 0 ? [names(view)] : []),
    );
  }

  window.addEventListener("message", (event) => {
    if (event.data && event.data.type === "show") render(event.data.view);
  });
  vscode.postMessage({ type: "ready" });
})();
