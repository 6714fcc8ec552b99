"""The hierarchy of one exported repository as differentiable tensors: chunk vectors at the leaves, every
parent fused from its children by the fuser, lowest first (paper Algorithm 1, lines 5-13), then
retrieval of the top K nodes of any level and their order as pseudo-tokens (Algorithm 2, lines 2-3),
with the two rules the sidecar applies (sidecar/cache/retrieval.ts selectHits, and
sidecar/completion/pseudoTokens.ts pseudoTokenOrder)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from .exports import Node, RepoExport, TaskView

T = TypeVar("T", int, Tensor)
FuseFn = Callable[[Tensor, Tensor], Tensor]  # (children [G, L, d], lengths [G]) -> parents [G, d]


@dataclass(frozen=True)
class Layer:
    parents: Tensor  # [G] rows written
    children: Tensor  # [G, L] rows read (padded with row 0)
    lengths: Tensor  # [G]


@dataclass(frozen=True)
class Plan:
    """How to compute the rows of some nodes: leaves copied from chunk vectors, parents fused in height order."""

    nodes: tuple[Node, ...]
    first_row: int
    leaf_rows: Tensor
    leaf_chunks: Tensor
    layers: tuple[Layer, ...]

    @property
    def rows(self) -> int:
        return len(self.nodes)


def make_plan(nodes: Sequence[Node], known: dict[str, int], first_row: int) -> tuple[Plan, dict[str, int]]:
    """Rows first_row.. for `nodes` (children before parents); children are found among `known` or these nodes."""
    row_of = dict(known)
    for i, node in enumerate(nodes):
        row_of[node.id] = first_row + i
    leaves = [(row_of[n.id], n.chunk) for n in nodes if n.level == "chunk"]
    layers: list[Layer] = []
    parents = [n for n in nodes if n.level != "chunk"]
    for height in sorted({n.height for n in parents}):
        group = [n for n in parents if n.height == height]
        width = max(len(n.children) for n in group)
        children = torch.zeros(len(group), width, dtype=torch.long)
        for g, node in enumerate(group):
            children[g, : len(node.children)] = torch.tensor([row_of[c] for c in node.children])
        layers.append(Layer(torch.tensor([row_of[n.id] for n in group]), children, torch.tensor([len(n.children) for n in group])))
    leaf_rows = torch.tensor([r for r, _ in leaves], dtype=torch.long)
    leaf_chunks = torch.tensor([c for _, c in leaves], dtype=torch.long)
    return Plan(tuple(nodes), first_row, leaf_rows, leaf_chunks, tuple(layers)), row_of


def shifted(rows: T, first_row: int, shift: int) -> T:
    """Where a plan's rows are in a table of several plans: its own rows (from first_row on) moved by
    its shift, the rows below it (read from an earlier table) where they were. Rows as ints or tensors."""
    return rows + shift * (rows >= first_row)


def fuse_plans(plans: Sequence[tuple[Plan, Tensor]], fuse: FuseFn, below: Tensor | None = None) -> tuple[Tensor, list[int]]:
    """Several plans (each with the chunk vectors its leaves copy) fused as one table: `below` (rows
    computed before, which every plan may read: the plans start at its end), then each plan's own rows
    in turn; returns the table and how far each plan's own rows moved (row r >= first_row is at r +
    shift). One fuser call per layer for all the plans together instead of one per plan and layer: at
    these sizes a call costs launches and Python, not arithmetic (a fuser step over 32 repositories
    took 2.4 s on an H200). A plan's layers depend only on its own earlier ones and on `below`, so the
    plans' i-th layers go in one call whatever their heights."""
    if not plans:
        raise ValueError("fuse_plans needs at least one plan")
    start = 0 if below is None else below.shape[0]
    if any(plan.first_row != start for plan, _ in plans):
        raise ValueError(f"every plan must start where the rows below end (row {start})")
    shifts = [0]
    for plan, _ in plans[:-1]:
        shifts.append(shifts[-1] + plan.rows)
    vectors = plans[0][1]
    device = vectors.device

    def moved(rows: Tensor, shift: int) -> Tensor:
        return shifted(rows.to(device), start, shift)

    own = torch.zeros(sum(plan.rows for plan, _ in plans), vectors.shape[1], device=device, dtype=vectors.dtype)
    leaf_rows = torch.cat([moved(plan.leaf_rows, shift) - start for (plan, _), shift in zip(plans, shifts)])
    own = own.index_copy(0, leaf_rows, torch.cat([chunks[plan.leaf_chunks.to(device)] for plan, chunks in plans]))
    table = own if below is None else torch.cat([below, own])
    for depth in range(max(len(plan.layers) for plan, _ in plans)):
        layers = [(plan.layers[depth], shift) for (plan, _), shift in zip(plans, shifts) if depth < len(plan.layers)]
        width = max(layer.children.shape[1] for layer, _ in layers)
        # Padding reads row 0, as make_plan pads: the fuser reads each group at its last real child only.
        children = torch.cat([F.pad(moved(layer.children, shift), (0, width - layer.children.shape[1])) for layer, shift in layers])
        lengths = torch.cat([layer.lengths.to(device) for layer, _ in layers])
        parents = torch.cat([moved(layer.parents, shift) for layer, shift in layers])
        table = table.index_copy(0, parents, fuse(table[children], lengths).to(table.dtype))
    return table, shifts


def fuse_trees(trees: Sequence[RepoTree], fuse: FuseFn) -> list[Tensor]:
    """Each tree's base table, as tree.fuse gives it, all fused together (fuse_plans)."""
    if not trees:
        return []
    table, shifts = fuse_plans([(tree.base, tree.chunk_vectors) for tree in trees], fuse)
    return [table[shift : shift + tree.base.rows] for tree, shift in zip(trees, shifts)]


@dataclass
class RepoTree:
    """A repository's hierarchy plan, and per task the plan of the nodes its view adds."""

    export: RepoExport
    base: Plan
    row_of: dict[str, int]
    chunk_vectors: Tensor

    @staticmethod
    def of(export: RepoExport, device: torch.device) -> RepoTree:
        base, row_of = make_plan(export.nodes, {}, 0)
        return RepoTree(export, base, row_of, torch.from_numpy(export.chunk_vectors).to(device))

    def fuse(self, fuse: FuseFn) -> Tensor:
        return fuse_plans([(self.base, self.chunk_vectors)], fuse)[0]

    def repo_row(self) -> int:
        node = self.export.repo_node
        if node is None:
            raise ValueError(f"{self.export.name}: no repository node (empty export)")
        return self.row_of[node.id]

    def views(self, tasks: Sequence[TaskView], base_table: Tensor, fuse: FuseFn) -> tuple[Tensor, list[tuple[list[Node], list[int]]]]:
        """The tasks' views in one table (the base rows, then each task's added rows, fused together):
        per task the nodes it can retrieve and their rows in that table."""
        plans = [make_plan(task.added, self.row_of, base_table.shape[0]) for task in tasks]
        table, shifts = fuse_plans([(plan, self.chunk_vectors) for plan, _ in plans], fuse, below=base_table)
        views = []
        for task, (plan, row_of), shift in zip(tasks, plans, shifts):
            nodes = [n for n in self.export.nodes if n.id not in task.removed] + list(task.added)
            views.append((nodes, [shifted(row_of[n.id], plan.first_row, shift) for n in nodes]))
        return table, views

    def view(self, task: TaskView, base_table: Tensor, fuse: FuseFn) -> tuple[Tensor, list[Node], list[int]]:
        """One task's table (base rows, then its added rows) and the nodes it can retrieve with their rows."""
        table, [(nodes, rows)] = self.views([task], base_table, fuse)
        return table, nodes, rows

    def chunks_in_view(self, task: TaskView) -> tuple[list[Node], Tensor]:
        """The chunk nodes the task's view holds and their vectors: what rag mode retrieves from."""
        nodes = [n for n in self.export.nodes if n.level == "chunk" and n.id not in task.removed]
        nodes += [n for n in task.added if n.level == "chunk"]
        rows = torch.tensor([n.chunk for n in nodes], dtype=torch.long, device=self.chunk_vectors.device)
        return nodes, self.chunk_vectors[rows]


SAME_SCORE = 1e-4
LEVEL_ORDER = {"repo": 0, "module": 1, "file": 2, "chunk": 3}


def retrieve(query: Tensor, table: Tensor, nodes: Sequence[Node], rows: Sequence[int], k: int) -> list[tuple[Node, int, float]]:
    """Top k by cosine, a single-child parent dropped when its child scored the same (retrieval.ts
    selectHits); like HefCache.search, the candidates widen until k nodes survive or none are left."""
    if not nodes:
        return []
    candidates = table[torch.tensor(rows, device=table.device)]
    scores = F.cosine_similarity(candidates.float(), query.float()[None], dim=-1)
    ranked = torch.argsort(scores, descending=True).tolist()
    by_id = {n.id: n for n in nodes}
    wanted = 2 * k + 8
    while True:
        order = ranked[:wanted]
        hit_scores = {nodes[i].id: float(scores[i]) for i in order}
        chosen: list[tuple[Node, int, float]] = []
        for i in order:
            if len(chosen) == k:
                break
            node = nodes[i]
            if not _repeats_only_child(node, hit_scores[node.id], hit_scores, by_id):
                chosen.append((node, rows[i], hit_scores[node.id]))
        if len(chosen) == k or wanted >= len(ranked):
            return chosen
        wanted *= 4


def _repeats_only_child(node: Node, score: float, scores: dict[str, float], by_id: dict[str, Node]) -> bool:
    current: Node | None = node
    while current is not None and len(current.children) == 1:
        child = current.children[0]
        if child in scores and abs(scores[child] - score) < SAME_SCORE:
            return True
        current = by_id.get(child)
    return False


def pseudo_token_order(hits: Sequence[tuple[Node, int, float]]) -> list[tuple[Node, int, float]]:
    """Coarse to fine, then path, first line and id: the order the sidecar feeds pseudo-tokens in."""

    def key(hit: tuple[Node, int, float]) -> tuple[int, str, int, str]:
        node = hit[0]
        first = node.spans[0].start_line if node.spans and node.spans[0].start_line is not None else 0
        return (LEVEL_ORDER[node.level], node.path, first, node.id)

    return sorted(hits, key=key)
