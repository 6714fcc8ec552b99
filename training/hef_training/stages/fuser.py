"""Stage 3: contrastive fuser pre-training (paper 3.6, Table 1): a chunk's vector must be closer to its
own repository's fused vector than to the other repositories' in the batch (InfoNCE, tau 0.07).
With "file" among the levels, a chunk must also pick its own file's vector among its repository's."""

from __future__ import annotations

import random

import torch
from torch import Tensor

from ..hierarchy import RepoTree, fuse_trees
from ..modeling import Fuser
from ..runtime import Optim, Stage, StepResult
from .embedder import info_nce


def _file_rows(tree: RepoTree) -> dict[str, int]:
    return {n.path: tree.row_of[n.id] for n in tree.export.nodes if n.level == "file" and not n.partial}


def fuser_stage(fuser: Fuser, trees: list[RepoTree], optim: Optim, temperature: float, levels: tuple[str, ...], seed: int) -> Stage:
    trees = [t for t in trees if t.export.repo_node is not None and t.export.base_chunks > 0]
    if len(trees) < 2:
        raise ValueError(f"contrastive fuser training needs at least 2 non-empty repositories, found {len(trees)}")
    files = [_file_rows(t) for t in trees]

    def batch(step: int, index: int) -> list[tuple[int, int]]:
        rng = random.Random(f"{seed}/{step}/{index}")
        chosen = rng.sample(range(len(trees)), min(optim.micro_batch, len(trees)))
        return [(t, rng.randrange(trees[t].export.base_chunks)) for t in chosen]

    def file_loss(t: int, chunk: int, query: Tensor, table: Tensor) -> Tensor | None:
        own = files[t].get(trees[t].export.chunks[chunk].path)
        if own is None or len(files[t]) < 2:
            return None
        rows = list(files[t].values())
        target = torch.tensor([rows.index(own)], device=table.device)
        return info_nce(query[None], table[torch.tensor(rows, device=table.device)], temperature, target)[0]

    def loss(chosen: list[tuple[int, int]]) -> StepResult:
        tables = fuse_trees([trees[t] for t, _ in chosen], fuser)
        queries = torch.stack([trees[t].chunk_vectors[row] for t, row in chosen])
        repos = torch.stack([table[trees[t].repo_row()] for (t, _), table in zip(chosen, tables)])
        value, accuracy = info_nce(queries, repos, temperature)
        extra = {"accuracy": accuracy.item()}
        if "file" in levels:
            per_file = [f for (t, row), q, table in zip(chosen, queries, tables) if (f := file_loss(t, row, q, table)) is not None]
            if per_file:
                file_value = torch.stack(per_file).mean()
                value = value + file_value
                extra["file_loss"] = file_value.item()
        return StepResult(value, len(chosen), extra)

    def diagnose() -> dict[str, float]:
        rng = random.Random(f"{seed}/diagnose")
        picks = [(t, rng.randrange(trees[t].export.base_chunks)) for t in range(len(trees)) for _ in range(4)]
        repos = torch.stack([table[tree.repo_row()] for tree, table in zip(trees, fuse_trees(trees, fuser))])
        queries = torch.stack([trees[t].chunk_vectors[row] for t, row in picks])
        _, accuracy = info_nce(queries, repos, temperature, torch.tensor([t for t, _ in picks], device=repos.device))
        return {"repo_top1": accuracy.item(), "repos": float(len(trees))}

    return Stage("fuser", {"fuser": fuser}, [(list(fuser.parameters()), 1.0)], optim, batch, loss, diagnose)
