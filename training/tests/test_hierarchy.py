"""Fusion over an exported hierarchy, retrieval and pseudo-token order, against hand-made exports and
the golden cases of the sidecar's own tests (test/cache/retrieval.test.ts, test/completion/queryWindow.test.ts)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hef_training.exports import ExportError, Node, Span, load_export, load_exports
from hef_training.hierarchy import RepoTree, fuse_trees, pseudo_token_order, retrieve
from hef_training.modeling import Fuser, TransformerShape


def node(id: str, level: str, children: tuple[str, ...] = (), chunk: int | None = None, path: str | None = None, line: int | None = None, height: int = 0) -> Node:
    return Node(id, level, False, path or id, height, children, (Span(path or id, line, line),), chunk)


def write_export(folder: Path, nodes: list[dict], chunks: int, dim: int, tasks: list[dict] | None = None, extra_chunks: int = 0) -> None:
    folder.mkdir(parents=True)
    total = chunks + extra_chunks
    manifest = {"format": "hef-export", "version": 1, "repo": folder.name, "root": str(folder), "embedder": {"name": "e", "id": "x", "dim": dim, "maxTokens": 512}, "b": 8, "files": 1, "chunks": total, "baseChunks": chunks, "nodes": len(nodes), "tasks": len(tasks or []), "skipped": []}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "chunks.jsonl").write_text("".join(json.dumps({"i": i, "hash": f"h{i}", "path": "a.py", "startLine": i + 1, "endLine": i + 1, "startByte": 0, "endByte": 1, "tokens": 1, "text": f"x{i}"}) + "\n" for i in range(total)))
    np.arange(total * dim, dtype="<f4").reshape(total, dim).tofile(folder / "chunk-vectors.f32")
    (folder / "nodes.jsonl").write_text("".join(json.dumps(n) + "\n" for n in nodes))
    if tasks:
        (folder / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
        np.ones((len(tasks), dim), dtype="<f4").tofile(folder / "query-vectors.f32")


def chunk_row(id: str, i: int) -> dict:
    return {"id": id, "level": "chunk", "partial": False, "path": "a.py", "height": 0, "children": [], "spans": [{"path": "a.py", "startLine": i + 1, "endLine": i + 1}], "chunk": i}


def test_fusion_follows_the_hierarchy_lowest_first(tmp_path: Path) -> None:
    nodes = [chunk_row("c0", 0), chunk_row("c1", 1), chunk_row("c2", 2)]
    nodes += [{"id": "f", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["c0", "c1", "c2"], "spans": [{"path": "a.py"}]}]
    nodes += [{"id": "r", "level": "repo", "partial": False, "path": ".", "height": 2, "children": ["f"], "spans": [{"path": "."}]}]
    write_export(tmp_path / "repo", nodes, 3, 2)
    tree = RepoTree.of(load_export(tmp_path / "repo"), torch.device("cpu"))
    calls: list[list[int]] = []

    def summing(children: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        calls.append(lengths.tolist())
        mask = (torch.arange(children.shape[1])[None] < lengths[:, None]).float()[..., None]
        return (children * mask).sum(1)

    table = tree.fuse(summing)
    assert calls == [[3], [1]]
    assert table[tree.row_of["f"]].tolist() == [0 + 2 + 4, 1 + 3 + 5]
    assert table[tree.repo_row()].tolist() == [6, 9]


def test_trees_fused_together_equal_each_fused_alone_in_one_call_per_layer(tmp_path: Path) -> None:
    # Different heights and widths: a file of 3 chunks under a repository, and two files (2 and 1
    # chunks) under a module under a repository.
    shallow = [chunk_row("c0", 0), chunk_row("c1", 1), chunk_row("c2", 2)]
    shallow += [{"id": "f", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["c0", "c1", "c2"], "spans": [{"path": "a.py"}]}]
    shallow += [{"id": "r", "level": "repo", "partial": False, "path": ".", "height": 2, "children": ["f"], "spans": [{"path": "."}]}]
    deep = [chunk_row("d0", 0), chunk_row("d1", 1), chunk_row("d2", 2)]
    deep += [{"id": "g", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["d0", "d1"], "spans": [{"path": "a.py"}]}]
    deep += [{"id": "h", "level": "file", "partial": False, "path": "b.py", "height": 1, "children": ["d2"], "spans": [{"path": "b.py"}]}]
    deep += [{"id": "m", "level": "module", "partial": False, "path": "pkg", "height": 2, "children": ["g", "h"], "spans": [{"path": "pkg"}]}]
    deep += [{"id": "s", "level": "repo", "partial": False, "path": ".", "height": 3, "children": ["m"], "spans": [{"path": "."}]}]
    write_export(tmp_path / "shallow", shallow, 3, 8)
    write_export(tmp_path / "deep", deep, 3, 8)
    trees = [RepoTree.of(load_export(tmp_path / name), torch.device("cpu")) for name in ("deep", "shallow", "deep")]
    torch.manual_seed(0)
    fuser = Fuser(8, TransformerShape(16, 1, 2, 1, 32, max_positions=64))
    calls = 0

    def counted(children: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return fuser(children, lengths)

    together = fuse_trees(trees, counted)
    assert calls == 3, "one call per layer: the deepest tree has three"
    for tree, table in zip(trees, together):
        alone = tree.fuse(fuser)
        assert table.shape == alone.shape
        torch.testing.assert_close(table, alone, rtol=1e-5, atol=1e-5)
    assert fuse_trees([], counted) == []


def test_a_task_view_drops_removed_nodes_and_fuses_added_ones_over_the_base(tmp_path: Path) -> None:
    nodes = [chunk_row("c0", 0), chunk_row("c1", 1)]
    nodes += [{"id": "f", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["c0", "c1"], "spans": [{"path": "a.py"}]}]
    task = {"taskId": "t", "path": "a.py", "lineNo": 1, "query": 0, "queryTokens": 3, "removed": ["c1", "f"], "added": [chunk_row("c2", 2), {"id": "g", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["c0", "c2"], "spans": [{"path": "a.py"}]}]}
    write_export(tmp_path / "repo", nodes, 2, 2, [task], extra_chunks=1)
    export = load_export(tmp_path / "repo")
    tree = RepoTree.of(export, torch.device("cpu"))
    mean = lambda c, n: c.sum(1) / n[:, None]  # noqa: E731
    table, view_nodes, rows = tree.view(export.tasks[0], tree.fuse(mean), mean)
    assert sorted(n.id for n in view_nodes) == ["c0", "c2", "g"]
    g = rows[[n.id for n in view_nodes].index("g")]
    assert table[g].tolist() == [(0 + 4) / 2, (1 + 5) / 2]


def test_several_task_views_fused_together_equal_each_alone(tmp_path: Path) -> None:
    nodes = [chunk_row("c0", 0), chunk_row("c1", 1), chunk_row("c2", 2)]
    nodes += [{"id": "f", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["c0", "c1", "c2"], "spans": [{"path": "a.py"}]}]
    nodes += [{"id": "r", "level": "repo", "partial": False, "path": ".", "height": 2, "children": ["f"], "spans": [{"path": "."}]}]
    file_g = {"id": "g", "level": "file", "partial": False, "path": "a.py", "height": 1, "children": ["c0", "c3"], "spans": [{"path": "a.py"}]}
    repo_s = {"id": "s", "level": "repo", "partial": False, "path": ".", "height": 2, "children": ["g"], "spans": [{"path": "."}]}
    tasks = [
        {"taskId": "one", "path": "a.py", "lineNo": 1, "query": 0, "queryTokens": 3, "removed": ["c1", "c2", "f", "r"], "added": [chunk_row("c3", 3), file_g, repo_s]},
        {"taskId": "two", "path": "a.py", "lineNo": 2, "query": 1, "queryTokens": 3, "removed": ["c2"], "added": [chunk_row("c4", 4)]},
        {"taskId": "none", "path": "a.py", "lineNo": 3, "query": 2, "queryTokens": 3, "removed": [], "added": []},
    ]
    write_export(tmp_path / "repo", nodes, 3, 8, tasks, extra_chunks=2)
    export = load_export(tmp_path / "repo")
    tree = RepoTree.of(export, torch.device("cpu"))
    torch.manual_seed(0)
    fuser = Fuser(8, TransformerShape(16, 1, 2, 1, 32, max_positions=64))
    base = tree.fuse(fuser)
    table, views = tree.views(export.tasks, base, fuser)
    assert table.shape[0] == base.shape[0] + 3 + 1
    for task, (nodes_together, rows_together) in zip(export.tasks, views):
        alone, nodes_alone, rows_alone = tree.view(task, base, fuser)
        assert [n.id for n in nodes_together] == [n.id for n in nodes_alone]
        torch.testing.assert_close(table[rows_together], alone[rows_alone], rtol=1e-5, atol=1e-5)


def test_only_child_parents_and_coarse_to_fine_order_as_the_sidecar() -> None:
    nodes = [node("m1", "module", ("f1",), height=2), node("c1", "chunk", chunk=0), node("f1", "file", ("c1",), height=1), node("f2", "file", ("c2", "c3"), height=1), node("c2", "chunk", chunk=1)]
    scores = {"m1": 0.9, "c1": 0.9, "f1": 0.9, "f2": 0.8, "c2": 0.7}
    query = torch.tensor([1.0, 0.0])
    table = torch.stack([torch.tensor([s, (1 - s * s) ** 0.5]) for s in scores.values()])
    by_id = {n.id: n for n in nodes}
    hits = retrieve(query, table, [by_id[i] for i in scores], list(range(5)), 3)
    assert [n.id for n, _, _ in hits] == ["c1", "f2", "c2"]
    ordered = [node("c2", "chunk", path="b", line=5), node("c1", "chunk", path="b", line=1), node("f", "file", path="b"), node("m", "module", path="x"), node("r", "repo", path=".")]
    assert [n.id for n, _, _ in pseudo_token_order([(n, 0, 0.0) for n in ordered])] == ["r", "m", "f", "c1", "c2"]


def test_a_damaged_or_foreign_export_is_refused_and_stray_folders_skipped(tmp_path: Path) -> None:
    write_export(tmp_path / "repo", [chunk_row("c0", 0)], 1, 2)
    (tmp_path / "repo" / "chunk-vectors.f32").write_bytes(b"\0" * 12)
    with pytest.raises(ExportError, match="3 floats, expected 1 x 2"):
        load_export(tmp_path / "repo")
    write_export(tmp_path / "ok", [chunk_row("c0", 0)], 1, 2)
    write_export(tmp_path / "ok.tmp-1", [chunk_row("c0", 0)], 1, 2)
    manifest = json.loads((tmp_path / "ok.tmp-1" / "manifest.json").read_text())
    (tmp_path / "ok.tmp-1" / "manifest.json").write_text(json.dumps({**manifest, "repo": "ok"}))
    (tmp_path / "repo" / "manifest.json").write_text(json.dumps({"format": "hef-export", "version": 9, "repo": "repo"}))
    with pytest.raises(ExportError, match="v9"):
        load_exports(tmp_path)
    (tmp_path / "repo" / "manifest.json").unlink()
    assert [e.name for e in load_exports(tmp_path)] == ["ok"]
    (tmp_path / "ok" / "nodes.jsonl").unlink()
    with pytest.raises(ExportError, match="nodes.jsonl is missing"):
        load_exports(tmp_path)
