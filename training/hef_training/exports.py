"""Reading what `hef export` writes (sidecar/training/exportFormat.ts declares the format): a
repository's chunks, their vectors from the embedder, its hierarchy, and for each line-completion
task the index as inference would see it with the target file cut at the cursor. Training reads
this instead of chunking and grouping again, so it sees what inference retrieves."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EXPORT_FORMAT = "hef-export"
EXPORT_VERSION = 1


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class Span:
    path: str
    start_line: int | None = None
    end_line: int | None = None


@dataclass(frozen=True)
class Node:
    id: str
    level: str  # chunk | file | module | repo
    partial: bool
    path: str
    height: int
    children: tuple[str, ...]
    spans: tuple[Span, ...]
    chunk: int | None = None  # row of the chunk's vector, chunk nodes only


@dataclass(frozen=True)
class Chunk:
    row: int
    path: str
    start_line: int
    end_line: int
    tokens: int
    text: str


@dataclass(frozen=True)
class TaskView:
    task_id: str
    path: str
    line_no: int
    query_row: int
    removed: frozenset[str]
    added: tuple[Node, ...]


@dataclass
class RepoExport:
    name: str
    root: Path
    dim: int
    b: int
    embedder: dict[str, object]
    chunks: list[Chunk]
    base_chunks: int
    chunk_vectors: np.ndarray  # [chunks, d] float32
    nodes: list[Node]  # the indexed hierarchy, children before parents
    tasks: list[TaskView]
    query_vectors: np.ndarray  # [tasks, d] float32
    by_id: dict[str, Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {n.id: n for n in self.nodes}

    @property
    def repo_node(self) -> Node | None:
        return next((n for n in reversed(self.nodes) if n.level == "repo" and not n.partial), None)


def _node(row: dict) -> Node:
    return Node(
        id=row["id"],
        level=row["level"],
        partial=bool(row["partial"]),
        path=row["path"],
        height=int(row["height"]),
        children=tuple(row["children"]),
        spans=tuple(Span(s["path"], s.get("startLine"), s.get("endLine")) for s in row["spans"]),
        chunk=row.get("chunk"),
    )


def _jsonl(path: Path, optional: bool = False) -> list[dict]:
    if not path.exists():
        if optional:
            return []
        raise ExportError(f"{path} is missing (a damaged export: run hef export again)")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _vectors(path: Path, rows: int, dim: int) -> np.ndarray:
    if rows == 0:
        return np.zeros((0, dim), np.float32)
    data = np.fromfile(path, dtype="<f4")
    if data.size != rows * dim:
        raise ExportError(f"{path}: {data.size} floats, expected {rows} x {dim}")
    return data.reshape(rows, dim)


def load_export(directory: str | Path) -> RepoExport:
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise ExportError(f"{directory}: no manifest.json (not a finished `hef export`)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != EXPORT_FORMAT or manifest.get("version") != EXPORT_VERSION:
        raise ExportError(f"{directory}: format {manifest.get('format')} v{manifest.get('version')}, this reads {EXPORT_FORMAT} v{EXPORT_VERSION}")
    dim = int(manifest["embedder"]["dim"])
    chunks = [Chunk(r["i"], r["path"], r["startLine"], r["endLine"], r["tokens"], r["text"]) for r in _jsonl(directory / "chunks.jsonl")]
    if [c.row for c in chunks] != list(range(len(chunks))):
        raise ExportError(f"{directory}: chunk rows are not 0..{len(chunks) - 1} in order")
    tasks_raw = _jsonl(directory / "tasks.jsonl", optional=True)
    tasks = [
        TaskView(str(t["taskId"]), t["path"], int(t["lineNo"]), int(t["query"]), frozenset(t["removed"]), tuple(_node(n) for n in t["added"]))
        for t in tasks_raw
    ]
    return RepoExport(
        name=manifest["repo"],
        root=Path(manifest["root"]),
        dim=dim,
        b=int(manifest["b"]),
        embedder=manifest["embedder"],
        chunks=chunks,
        base_chunks=int(manifest["baseChunks"]),
        chunk_vectors=_vectors(directory / "chunk-vectors.f32", len(chunks), dim),
        nodes=[_node(r) for r in _jsonl(directory / "nodes.jsonl")],
        tasks=tasks,
        query_vectors=_vectors(directory / "query-vectors.f32", len(tasks), dim),
    )


def load_exports(directory: str | Path) -> list[RepoExport]:
    """Every repository folder of an export, in name order. Folders a killed export left beside them
    (<repo>.tmp-*, <repo>.old-*) hold a manifest too, but not one naming the folder: they are skipped."""
    folders = sorted(d for d in Path(directory).iterdir() if (d / "manifest.json").exists())
    return [load_export(d) for d in folders if json.loads((d / "manifest.json").read_text(encoding="utf-8")).get("repo") == d.name]
